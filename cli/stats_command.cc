#include "cli/stats_command.h"

#include <signal.h>

#include <iostream>
#include <sstream>
#include <thread>

#include "cli/mount_registry.h"
#include "cli/ops_client.h"
#include "cli/ops_format.h"

namespace shadowfs::cli {

namespace {

std::string Percent(const Json& v) {
  if (!v.is_number()) return "n/a";
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.1f%%", v.get<double>() * 100);
  return buf;
}

std::string Bytes(const Json& v) { return v.is_number() ? HumanBytes(v.get<double>()) : "n/a"; }

std::string Render(const std::string& where, const Json& s) {
  std::ostringstream out;
  const Json& reads = s["reads"];
  const Json& pred = s["prediction"];
  const Json& rec = s["reconciler"];
  const Json& store = s["store"];
  out << "shadowfs stats: " << where << "\n";
  out << "  hit ratio        " << Percent(s["hit_ratio"]) << " (" << Cell(reads["from_shadow"])
      << " reads from shadows, " << Cell(reads["from_primary"]) << " from the primary)\n";
  out << "  bytes            " << Bytes(s["bytes"]["from_shadow"]) << " from shadows, "
      << Bytes(s["bytes"]["from_primary"]) << " from the primary\n";
  out << "  prediction       precision "
      << (pred.is_object() ? Percent(pred.value("precision", Json())) : "n/a") << ", coverage "
      << (pred.is_object() ? Percent(pred.value("coverage", Json())) : "n/a") << "\n";
  out << "  reconciler       lag "
      << (rec["lag_seconds"].is_number() ? Cell(rec["lag_seconds"], 0) + " s" : "n/a")
      << ", last cycle " << (rec["last_cycle"].is_string() ? Cell(rec["last_cycle"]) : "never")
      << "\n";
  out << "  store            " << Bytes(store["used_bytes"]) << " of "
      << Bytes(store["capacity_bytes"]) << " (" << Cell(store["shadows"]) << " shadows)\n";
  out << "  pending uploads  " << Cell(s["pending_uploads"]) << "\n";
  out << "  errors          ";
  for (const auto& [name, value] : s["errors"].items()) out << " " << name << "=" << Cell(value);
  out << "\n";
  return out.str();
}

}  // namespace

CLI::App* AddStatsCommand(CLI::App& app, StatsCommandOptions* o) {
  auto* cmd = app.add_subcommand(
      "stats", "Hit ratio, bytes by source, prediction, reconciler, store usage, uploads, errors");
  cmd->add_option("path", o->path, "A path inside the mount (default: the current directory)");
  cmd->add_option("--store", o->store_dir, "A shadow store no mount holds");
  cmd->add_flag("--json", o->json, "Print JSON (one object; one line per refresh with --watch)");
  cmd->add_option("--watch", o->watch_seconds, "Refresh every SECONDS (default 2) until Ctrl-C")
      ->expected(0, 1)
      ->default_str("2")
      ->check(CLI::Range(0.1, 3600.0));
  return cmd;
}

int RunStatsCommand(const StatsCommandOptions& o) {
  auto client = OpsClient::Connect(o.path, o.store_dir);
  if (!client.ok()) {
    std::cerr << "shadowfs stats: " << client.status().message() << "\n";
    return 1;
  }
  const bool terminal = StdoutIsTerminal();
  for (;;) {
    auto stats = (*client)->Call("stats", Json::object());
    if (!stats.ok()) {
      std::cerr << "shadowfs stats: " << stats.status().message() << "\n";
      return 1;
    }
    if (o.json) {
      std::cout << DumpJson(*stats) << std::endl;
    } else {
      // Like top: clear the screen and draw from the top-left corner on a terminal.
      if (o.watch_seconds > 0 && terminal) std::cout << "\033[H\033[2J";
      std::cout << Render((*client)->where(), *stats) << std::flush;
    }
    if (o.watch_seconds <= 0) return 0;
    // Interrupted by Ctrl-C: the default SIGINT action ends the process, as with top.
    std::this_thread::sleep_for(std::chrono::duration<double>(o.watch_seconds));
  }
}

CLI::App* AddStatusCommand(CLI::App& app, StatusCommandOptions* o) {
  auto* cmd = app.add_subcommand(
      "status", "Health of every running mount: primary reachable, pending uploads, last error");
  cmd->add_flag("--json", o->json, "Print a JSON array");
  return cmd;
}

int RunStatusCommand(const StatusCommandOptions& o) {
  Json all = Json::array();
  bool healthy = true;
  for (MountRecord& m : ListMounts()) {
    Json entry = {{"mountpoint", m.mountpoint},
                  {"pid", m.pid},
                  {"store", m.store_dir},
                  {"primary", m.primary},
                  {"socket", m.socket}};
    auto client = OpsClient::ForMount(m);
    auto status =
        client->Call("status", Json{{"timeout_ms", 3000}}, {}, std::chrono::milliseconds(15000));
    if (status.ok()) {
      entry["answering"] = true;
      for (const char* field :
           {"primary_reachable", "primary_error", "pending_uploads", "last_error"}) {
        entry[field] = status->value(field, Json());
      }
      if (!entry["primary_reachable"].is_boolean() || !entry["primary_reachable"].get<bool>()) {
        healthy = false;
      }
    } else {
      entry["answering"] = false;
      entry["error"] = status.status().message();
      healthy = false;
    }
    all.push_back(std::move(entry));
  }
  if (o.json) {
    std::cout << DumpJson(all) << "\n";
    return healthy ? 0 : 1;
  }
  if (all.empty()) {
    std::cout << "no shadowfs mount is running\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Json& e : all) {
    std::string primary = !e.value("answering", false) ? "? (" + e.value("error", "") + ")"
                          : e.value("primary_reachable", false)
                              ? "reachable"
                              : "UNREACHABLE: " + Cell(e["primary_error"]);
    rows.push_back({e.value("mountpoint", ""), std::to_string(e.value("pid", 0)),
                    e.value("primary", ""), primary, Cell(e.value("pending_uploads", Json())),
                    Cell(e.value("last_error", Json())), e.value("store", "")});
  }
  PrintTable(std::cout, {"MOUNTPOINT", "PID", "PRIMARY", "STATE", "PENDING", "LAST-ERROR", "STORE"},
             rows);
  return healthy ? 0 : 1;
}

}  // namespace shadowfs::cli
