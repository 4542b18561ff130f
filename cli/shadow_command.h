// `shadowfs shadow ls|show|create|drop|pin|unpin|verify`: inspect and manage the shadows of a
// mount (through its control socket) or of a store no mount holds (--store; create needs a
// mount). Part of the composition root.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace shadowfs::cli {

struct ShadowCommandOptions {
  std::string path;
  std::string store_dir;
  bool json = false;
  bool recursive = false;
  std::string ttl;         // create: a duration
  std::string valid_from;  // create: RFC 3339 or +DURATION
  bool pin = false;        // create
  CLI::App* ls = nullptr;
  CLI::App* show = nullptr;
  CLI::App* create = nullptr;
  CLI::App* drop = nullptr;
  CLI::App* pin_cmd = nullptr;
  CLI::App* unpin = nullptr;
  CLI::App* verify = nullptr;
};

CLI::App* AddShadowCommand(CLI::App& app, ShadowCommandOptions* options);

// 0 on success; 1 with one line on stderr on failure; 2 for bad option values.
int RunShadowCommand(const ShadowCommandOptions& options);

}  // namespace shadowfs::cli
