#include "cli/shadow_command.h"

#include <iostream>

#include "cli/ops_client.h"
#include "cli/ops_format.h"
#include "cli/parse_duration.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

int Fail(const std::string& message, int code = 1) {
  std::cerr << "shadowfs shadow: " << message << "\n";
  return code;
}

void AddTarget(CLI::App* cmd, ShadowCommandOptions* o, bool path_required, bool data) {
  auto* path = cmd->add_option("path", o->path,
                               "A path inside a mount (with --store: a key path in the store)");
  if (path_required) path->required();
  cmd->add_option("--store", o->store_dir, "A shadow store no mount holds (offline use)");
  if (data) cmd->add_flag("--json", o->json, "Print JSON");
}

void PrintLs(const Json& shadows) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& s : shadows) {
    rows.push_back({s.value("path", ""), HumanBytes(s.value("size", 0.0)),
                    HumanBytes(s.value("bytes_stored", 0.0)), Cell(s["ratio"]),
                    Cell(s["confidence"], 3), Cell(s["valid_from"]), Cell(s["expires"]),
                    s.value("origin", ""), s.value("pinned", false) ? "pinned" : "-",
                    Cell(s["hits"])});
  }
  PrintTable(std::cout,
             {"PATH", "SIZE", "STORED", "RATIO", "CONFIDENCE", "VALID-FROM", "EXPIRES", "ORIGIN",
              "PIN", "HITS"},
             rows);
}

void PrintShow(const Json& s) {
  for (const auto& [name, value] : s.items()) {
    std::cout << name << ": " << (value.is_object() ? DumpJson(value) : Cell(value, 3)) << "\n";
  }
}

void PrintFill(const std::string& verb, const Json& r) {
  std::cout << verb << " " << r.value("materialized", 0) << " of " << r.value("files", 0)
            << " files (" << HumanBytes(r.value("bytes", 0.0)) << ")\n";
}

void PrintVerify(const Json& r) {
  std::cout << "checked " << r.value("shadows", 0) << " shadows: " << r.value("chunks_scrubbed", 0)
            << " chunks verified, " << r.value("corrupt_chunks_dropped", 0) << " corrupt (dropped)";
  if (!r.value("versions_checked", false)) {
    std::cout << "; versions not checked (no primary: run it on a path inside the mount)\n";
    return;
  }
  std::cout << "; " << r.value("current", 0) << " current, " << r.value("stale_dropped", 0)
            << " changed on the primary (dropped), " << r.value("deleted_dropped", 0)
            << " deleted on the primary (dropped)\n";
  for (const Json& f : r.value("fixed", Json::array())) {
    std::cout << "  " << f.value("path", "") << ": " << f.value("what", "") << "\n";
  }
}

}  // namespace

CLI::App* AddShadowCommand(CLI::App& app, ShadowCommandOptions* o) {
  auto* cmd = app.add_subcommand("shadow", "Inspect and manage shadows (local copies of files)");
  cmd->require_subcommand(1);
  o->ls = cmd->add_subcommand("ls",
                              "List shadows: size on disk, ratio, confidence, valid-from, "
                              "expiry, origin, pin, hits");
  AddTarget(o->ls, o, false, true);
  o->show = cmd->add_subcommand("show", "Show everything about one file's shadow");
  AddTarget(o->show, o, true, true);
  o->create = cmd->add_subcommand(
      "create", "Build a file's shadow now (or schedule it with --valid-from); needs a mount");
  AddTarget(o->create, o, true, true);
  o->create->add_flag("-r,--recursive", o->recursive, "Every file under a directory");
  o->create->add_option("--ttl", o->ttl, "Expire the shadow after this long (30s, 10m, 2h, 7d)");
  o->create->add_option("--valid-from", o->valid_from,
                        "Serve from this time on: RFC 3339 (2026-11-22T02:00:00Z) or +DURATION");
  o->create->add_flag("--pin", o->pin, "Never evict it");
  o->drop = cmd->add_subcommand("drop", "Remove shadows (the files themselves are untouched)");
  AddTarget(o->drop, o, true, true);
  o->drop->add_flag("-r,--recursive", o->recursive, "Every shadow under a directory");
  o->pin_cmd = cmd->add_subcommand("pin", "Keep a shadow through eviction");
  AddTarget(o->pin_cmd, o, true, true);
  o->unpin = cmd->add_subcommand("unpin", "Let a pinned shadow be evicted again");
  AddTarget(o->unpin, o, true, true);
  o->verify = cmd->add_subcommand(
      "verify", "Verify checksums and compare versions with the primary; drop what is bad");
  AddTarget(o->verify, o, false, true);
  return cmd;
}

int RunShadowCommand(const ShadowCommandOptions& o) {
  Json args = Json::object();
  std::string op;
  if (*o.ls) op = "shadow.ls";
  if (*o.show) op = "shadow.show";
  if (*o.drop) op = "shadow.drop";
  if (*o.pin_cmd) op = "shadow.pin";
  if (*o.unpin) op = "shadow.unpin";
  if (*o.verify) op = "shadow.verify";
  if (*o.create) {
    op = "shadow.create";
    if (!o.ttl.empty()) {
      auto ttl = ParseDuration(o.ttl);
      if (!ttl.ok()) return Fail(ttl.status().message(), 2);
      args["ttl_seconds"] = ttl->count();
    }
    if (!o.valid_from.empty()) {
      auto when = ParseTime(o.valid_from, std::chrono::system_clock::now());
      if (!when.ok()) return Fail(when.status().message(), 2);
      args["valid_from_unix"] =
          std::chrono::duration_cast<std::chrono::seconds>(when->time_since_epoch()).count();
    }
    args["pin"] = o.pin;
  }
  if (*o.create || *o.drop) args["recursive"] = o.recursive;
  if (op.empty()) return Fail("name a subcommand (see --help)", 2);

  auto client = OpsClient::Connect(o.path, o.store_dir);
  if (!client.ok()) return Fail(client.status().message());
  args.update((*client)->target());
  const bool long_running = o.create->parsed();
  auto result = (*client)->Call(
      op, args, {}, long_running ? std::chrono::milliseconds(0) : std::chrono::milliseconds(60000));
  if (!result.ok()) return Fail(result.status().message());
  const Json& r = *result;
  if (o.json) {
    std::cout << DumpJson(r) << "\n";
  } else if (*o.ls) {
    PrintLs(r);
  } else if (*o.show) {
    PrintShow(r);
  } else if (*o.create) {
    PrintFill("shadowed", r);
  } else if (*o.drop) {
    std::cout << "dropped " << r.value("dropped", 0) << " shadows ("
              << HumanBytes(r.value("bytes", 0.0)) << ")\n";
  } else if (*o.pin_cmd || *o.unpin) {
    std::cout << (r.value("pinned", false) ? "pinned " : "unpinned ") << r.value("path", "")
              << "\n";
  } else if (*o.verify) {
    PrintVerify(r);
  }
  if (*o.create) {
    for (const Json& f : r.value("failed", Json::array())) {
      std::cerr << "shadowfs shadow: " << f.value("path", "") << ": " << f.value("error", "")
                << "\n";
    }
    if (!r.value("failed", Json::array()).empty()) return 1;
  }
  return 0;
}

}  // namespace shadowfs::cli
