#include "cli/predict_command.h"

#include <iomanip>
#include <iostream>
#include <sstream>

#include "blobstore/base/logging.h"
#include "blobstore/base/metrics.h"
#include "blobstore/shadow/shadow_store.h"
#include "cli/ops_client.h"
#include "cli/ops_format.h"
#include "cli/parse_duration.h"
#include "cli/parse_size.h"
#include "cli/prediction.h"
#include "predict/engine.h"
#include "predict/replay.h"

namespace shadowfs::cli {

namespace {

int Fail(const std::string& what, const base::Status& status, int code = 1) {
  std::cerr << "shadowfs predict " << what << ": " << status.message() << "\n";
  return code;
}

std::string Fixed(double v, int precision = 3) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << v;
  return out.str();
}

void PrintPredictions(const Json& predictions) {
  if (predictions.empty()) {
    std::cout << "no predictions yet\n";
    return;
  }
  std::cout << std::left << std::setw(12) << "PROBABILITY" << std::setw(24) << "RANGE"
            << "KEY (EXPERTS)\n";
  for (const Json& p : predictions) {
    std::string range = p["length"].get<uint64_t>() == 0
                            ? "from " + std::to_string(p["offset"].get<uint64_t>())
                            : std::to_string(p["offset"].get<uint64_t>()) + "+" +
                                  std::to_string(p["length"].get<uint64_t>());
    std::cout << std::left << std::setw(12) << Fixed(p["probability"].get<double>())
              << std::setw(24) << range << p["key"].get<std::string>() << " (";
    bool first = true;
    for (const Json& e : p["experts"]) {
      std::cout << (first ? "" : ", ") << e["expert"].get<std::string>() << " "
                << Fixed(e["score"].get<double>(), 2);
      first = false;
    }
    std::cout << ")\n";
  }
}

void PrintAccounting(const Json& a) {
  const double demand = static_cast<double>(a["demand_bytes"].get<uint64_t>());
  const double wasted = static_cast<double>(a["wasted_bytes"].get<uint64_t>());
  std::cout << "reads       " << a["demand_reads"].get<uint64_t>() << " (" << HumanBytes(demand)
            << ")\n"
            << "precision   " << Fixed(a["precision"].get<double>()) << " ("
            << HumanBytes(static_cast<double>(a["useful_bytes"].get<uint64_t>()))
            << " of the prefetched bytes read in time)\n"
            << "coverage    " << Fixed(a["coverage"].get<double>()) << " ("
            << a["covered_reads"].get<uint64_t>() << " reads served from prefetched shadows)\n"
            << "timeliness  " << Fixed(a["timeliness"].get<double>()) << "\n"
            << "wasted      " << HumanBytes(wasted) << " ("
            << (demand > 0 ? Fixed(100 * wasted / demand, 1) : std::string("0.0"))
            << "% of demand)\n"
            << "calibration " << Fixed(a["calibration_error"].get<double>())
            << " expected calibration error over " << a["labelled_predictions"].get<uint64_t>()
            << " labelled predictions\n"
            << "threshold   " << Fixed(a["threshold"].get<double>()) << "\n\n";
  std::cout << std::left << std::setw(14) << "EXPERT" << std::setw(12) << "PREFETCHES"
            << std::setw(12) << "BYTES" << std::setw(12) << "USEFUL" << std::setw(12) << "WASTED"
            << std::setw(11) << "PRECISION"
            << "TIMELINESS\n";
  for (const Json& e : a["experts"]) {
    std::cout << std::left << std::setw(14) << e["expert"].get<std::string>() << std::setw(12)
              << e["prefetches"].get<uint64_t>() << std::setw(12)
              << HumanBytes(static_cast<double>(e["prefetched_bytes"].get<uint64_t>()))
              << std::setw(12) << HumanBytes(static_cast<double>(e["useful_bytes"].get<uint64_t>()))
              << std::setw(12) << HumanBytes(static_cast<double>(e["wasted_bytes"].get<uint64_t>()))
              << std::setw(11) << Fixed(e["precision"].get<double>())
              << Fixed(e["timeliness"].get<double>()) << "\n";
  }
}

int RunShow(const PredictCommandOptions& o) {
  auto client = OpsClient::Connect(o.path, o.store_dir);
  if (!client.ok()) return Fail("show", client.status());
  Json predictions;
  if (!(*client)->in_process()) {
    Json args = {{"limit", o.limit}};
    auto got = (*client)->Call("predict.show", args);
    if (!got.ok()) return Fail("show", got.status());
    predictions = std::move(*got);
  } else {
    // A store no mount holds (the client holds it now): the model saved in it.
    base::SystemClock clock;
    base::StderrLogger logger(base::LogLevel::kWarning);
    base::MetricsRegistry metrics;
    predict::EngineOptions options;
    options.state_path = o.store_dir + "/predict.db";
    options.prefetch = false;
    auto engine = predict::Engine::Create(options, {nullptr, nullptr, {&clock, &logger, &metrics}});
    if (!engine.ok()) return Fail("show", engine.status());
    std::string prefix = (*client)->target().value("key", std::string());
    predictions = PredictionsJson((*engine)->Top(prefix, o.limit));
  }
  if (o.json) {
    std::cout << DumpJson(predictions) << "\n";
  } else {
    PrintPredictions(predictions);
  }
  return 0;
}

base::Result<predict::ReplayOptions> MakeReplayOptions(const PredictCommandOptions& o) {
  predict::ReplayOptions r;
  SHADOWFS_ASSIGN_OR_RETURN(r.store_capacity_bytes, ParseSize(o.cache_size));
  SHADOWFS_ASSIGN_OR_RETURN(auto horizon, ParseDuration(o.horizon));
  r.engine.horizon = std::chrono::duration_cast<std::chrono::seconds>(horizon);
  if (r.engine.horizon.count() <= 0) {
    return base::Status::InvalidArgument("bad --horizon '" + o.horizon + "': at least 1s");
  }
  if (!(o.target_precision > 0 && o.target_precision < 1)) {
    return base::Status::InvalidArgument("bad --target-precision: a probability between 0 and 1");
  }
  r.engine.target_precision = o.target_precision;
  if (!(o.delay_ms >= 0 && o.delay_ms <= 60000)) {
    return base::Status::InvalidArgument("bad --delay-ms: 0 to 60000");
  }
  r.request_latency = std::chrono::milliseconds(static_cast<int64_t>(o.delay_ms));
  return r;
}

int RunReplay(const std::string& what, const PredictCommandOptions& o) {
  auto options = MakeReplayOptions(o);
  if (!options.ok()) return Fail(what, options.status(), 2);
  // train holds the store (its lock, creating it if needed) while it writes the store's model.
  base::SystemClock clock;
  base::StderrLogger logger(base::LogLevel::kWarning);
  base::MetricsRegistry metrics;
  std::unique_ptr<shadow::ShadowStore> holder;
  if (what == "train") {
    shadow::ShadowStoreOptions store_options;
    store_options.dir = o.store_dir;
    auto store = shadow::ShadowStore::Open(store_options, {&clock, &logger, &metrics});
    if (!store.ok()) {
      std::string hint = store.status().code() == base::StatusCode::kAlreadyExists
                             ? " (a mount's engine would overwrite what train learns: unmount it)"
                             : "";
      return Fail(what, base::Status(store.status().code(), store.status().message() + hint));
    }
    holder = std::move(*store);
    options->engine.state_path = o.store_dir + "/predict.db";
  }
  auto accounting =
      predict::ReplayAccessLog(o.log, *options, predict::StandardExperts(options->engine));
  if (!accounting.ok()) return Fail(what, accounting.status());
  Json a = AccountingJson(*accounting);
  if (o.json) {
    std::cout << DumpJson(a) << "\n";
  } else {
    PrintAccounting(a);
    if (what == "train") std::cout << "\nsaved to " << options->engine.state_path << "\n";
  }
  return 0;
}

}  // namespace

CLI::App* AddPredictCommand(CLI::App& app, PredictCommandOptions* o) {
  auto* cmd =
      app.add_subcommand("predict", "The prediction engine: what it expects, learn, replay");
  cmd->require_subcommand(1);
  auto* show = cmd->add_subcommand(
      "show", "The most probable next reads, with the experts behind each prediction");
  show->add_option("path", o->path, "A path inside a mount (default: the current directory)");
  show->add_option("--store", o->store_dir, "A shadow store no mount holds");
  show->add_option("--limit", o->limit, "How many predictions")->capture_default_str();
  show->add_flag("--json", o->json, "Print a JSON array");

  auto replay_options = [o](CLI::App* sub) {
    sub->add_option("--log", o->log, "An access log recorded with `shadowfs mount --access-log`")
        ->required();
    sub->add_option("--delay-ms", o->delay_ms, "Simulated latency of one request to the primary")
        ->capture_default_str();
    sub->add_option("--cache-size", o->cache_size, "Simulated store capacity (K, M, G, T)")
        ->capture_default_str();
    sub->add_option("--horizon", o->horizon, "A prediction is right if read within this")
        ->capture_default_str();
    sub->add_option("--target-precision", o->target_precision,
                    "The precision the planner's threshold holds")
        ->capture_default_str();
    sub->add_flag("--json", o->json, "Print the accounting as JSON");
  };
  auto* train = cmd->add_subcommand(
      "train", "Learn from a recorded access log and save the model in a store");
  train->add_option("--store", o->store_dir, "The store whose model to train (no mount holds it)")
      ->required();
  replay_options(train);
  auto* eval = cmd->add_subcommand(
      "eval", "Replay an access log offline: precision, coverage, timeliness, waste, calibration");
  replay_options(eval);
  return cmd;
}

int RunPredictCommand(CLI::App* predict, const PredictCommandOptions& o) {
  if (predict->got_subcommand("show")) return RunShow(o);
  if (predict->got_subcommand("train")) return RunReplay("train", o);
  return RunReplay("eval", o);
}

}  // namespace shadowfs::cli
