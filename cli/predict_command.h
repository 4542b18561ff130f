// `shadowfs predict show|train|eval` (issue 5): the prediction engine's top predictions for a
// running mount (through its control socket) or a store no mount holds; learning from a recorded
// access log into a store's model (train); and replaying a log offline to see how prediction
// would have done (eval). Part of the composition root.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>

namespace shadowfs::cli {

struct PredictCommandOptions {
  // show
  std::string path;
  std::string store_dir;
  size_t limit = 20;
  // train, eval
  std::string log;
  double delay_ms = 20;            // the simulated per-request latency of the primary
  std::string cache_size = "10G";  // the simulated store's capacity
  std::string horizon = "10m";
  double target_precision = 0.8;
  bool json = false;
};

CLI::App* AddPredictCommand(CLI::App& app, PredictCommandOptions* options);
int RunPredictCommand(CLI::App* predict, const PredictCommandOptions& options);

}  // namespace shadowfs::cli
