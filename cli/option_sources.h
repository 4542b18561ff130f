// Where the options of the command being run get their values, in order of precedence: a flag on
// the command line, an -o entry of the same name (mount, and mount.shadowfs from fstab), the
// configuration file (the command's table, as in [mount], then its top level), the default.
// Every option has one name: `--cache-size 10G`, `-o cache-size=10G` and `cache-size = "10G"`.
// The file is TOML (cli/OPTIONS.md documents every key); toml++ is included here only.
//
// Works on the CLI11 tree after it parsed the command line and before any command runs; the
// values reach the commands' option structs through the CLI11 bindings. Single-threaded.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "blobstore/base/status.h"

namespace shadowfs::cli {

inline constexpr char kDefaultConfigPath[] = "/etc/shadowfs/shadowfs.toml";

// Applies the -o entries of `groups` (each a comma-separated list) that name an option of `cmd`
// or of a command above it (`cache-size=1G`, `cache_size=1G`, `writeback`, `config=FILE`) to
// that option and removes them from `groups`, leaving the rest (uid=, ro, FUSE's options) to
// ApplyMountOptions. An option also given as a flag keeps the flag's value. InvalidArgument
// naming the entry for a missing or malformed value.
base::Status ApplyOptionEntries(CLI::App* cmd, std::vector<std::string>* groups);

// Reads the configuration file at `path` (absent is fine unless `must_exist`) and gives its
// values to every option of `app` and of its selected subcommands that was not set on the
// command line or by -o. Every key is checked, not only the ones of the command being run: an
// unknown key or table, a wrongly typed value and malformed TOML are InvalidArgument with a
// one-line message starting "PATH:LINE:COLUMN: ".
base::Status ApplyConfigFile(CLI::App* app, const std::string& path, bool must_exist);

}  // namespace shadowfs::cli
