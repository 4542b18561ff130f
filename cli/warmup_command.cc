#include "cli/warmup_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/ops_client.h"
#include "cli/ops_format.h"

namespace shadowfs::cli {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Draws progress reports: a bar redrawn in place with \r on a terminal, a line per finished file
// otherwise.
class ProgressView {
 public:
  explicit ProgressView(bool terminal) : terminal_(terminal), start_(SteadyClock::now()) {}

  void Update(const Json& p) {
    const double done = p.value("bytes_done", 0.0), total = p.value("bytes_total", 0.0);
    const uint64_t files = p.value("files_done", uint64_t{0});
    const uint64_t files_total = p.value("files_total", uint64_t{0});
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - start_).count();
    const double rate = seconds > 0 ? done / seconds : 0;
    if (!terminal_) {
      if (files > files_done_) {
        std::cout << "warmed " << p.value("file", "") << " (" << files << "/" << files_total
                  << " files, " << HumanBytes(done) << "/" << HumanBytes(total) << ")\n";
      }
      files_done_ = files;
      return;
    }
    const double fraction =
        total > 0 ? done / total : (files_total ? 1.0 * files / files_total : 1);
    const int width = 30, filled = static_cast<int>(fraction * width);
    std::string eta = "-";
    if (rate > 0 && total > done)
      eta = std::to_string(static_cast<int>((total - done) / rate)) + "s";
    char line[256];
    std::snprintf(line, sizeof(line), "\r[%s%s] %3d%%  %llu/%llu files  %s/%s  %s/s  ETA %s\033[K",
                  std::string(filled, '#').c_str(), std::string(width - filled, '-').c_str(),
                  static_cast<int>(fraction * 100), static_cast<unsigned long long>(files),
                  static_cast<unsigned long long>(files_total), HumanBytes(done).c_str(),
                  HumanBytes(total).c_str(), HumanBytes(rate).c_str(), eta.c_str());
    std::cout << line << std::flush;
    drawn_ = true;
  }
  void Finish() {
    if (drawn_) std::cout << "\n";
    drawn_ = false;
  }

 private:
  const bool terminal_;
  const SteadyClock::time_point start_;
  uint64_t files_done_ = 0;
  bool drawn_ = false;
};

}  // namespace

CLI::App* AddWarmupCommand(CLI::App& app, WarmupCommandOptions* o) {
  auto* cmd = app.add_subcommand(
      "warmup", "Build the shadows of files and directories (recursively) now, through the mount");
  cmd->add_option("paths", o->paths, "Files and directories inside a running mount")->required();
  cmd->add_flag("--json", o->json, "Print the result as JSON (no progress)");
  return cmd;
}

int RunWarmupCommand(const WarmupCommandOptions& o) {
  // One request per mount, in the order the paths were given.
  std::vector<std::pair<std::unique_ptr<OpsClient>, Json>> batches;
  for (const std::string& path : o.paths) {
    auto client = OpsClient::Connect(path, "");
    if (!client.ok()) {
      std::cerr << "shadowfs warmup: " << client.status().message() << "\n";
      return 1;
    }
    Json target = (*client)->target()["path"];
    auto same = std::find_if(batches.begin(), batches.end(), [&](const auto& b) {
      return b.first->socket() == (*client)->socket();
    });
    if (same == batches.end()) {
      batches.emplace_back(std::move(*client), Json::array());
      same = batches.end() - 1;
    }
    same->second.push_back(std::move(target));
  }
  int failures = 0;
  Json results = Json::array();
  for (auto& [client, paths] : batches) {
    ProgressView view(!o.json && StdoutIsTerminal());
    auto result = client->Call(
        "warmup", Json{{"paths", paths}},
        [&](const Json& p) {
          if (!o.json) view.Update(p);
        },
        std::chrono::milliseconds(0));
    view.Finish();
    if (!result.ok()) {
      std::cerr << "shadowfs warmup: " << result.status().message() << "\n";
      return 1;
    }
    for (const Json& f : result->value("failed", Json::array())) {
      std::cerr << "shadowfs warmup: failed: " << f.value("path", "") << ": "
                << f.value("error", "") << "\n";
      ++failures;
    }
    if (o.json) {
      Json r = *result;
      r["mountpoint"] = client->where();
      results.push_back(std::move(r));
    } else {
      std::cout << "warmed " << result->value("materialized", 0) << " of "
                << result->value("files", 0) << " files ("
                << HumanBytes(result->value("bytes", 0.0)) << ") in " << client->where() << "\n";
    }
  }
  if (o.json) std::cout << DumpJson(results) << "\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace shadowfs::cli
