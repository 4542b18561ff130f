// Runs a program for a test and waits for it, with a deadline: the child is killed (its whole
// process group, by PID) if it overruns, so a hung tool can never hang the test run.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace shadowfs::testing {

struct CommandResult {
  int exit_code = -1;  // -1 if killed or not started
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved
};

// argv[0] is an absolute path. `env` entries are added to (or, with an empty value, removed
// from) the test's own environment.
// The test's own environment with `env` applied as RunCommand applies it, as "NAME=value"
// strings (build them before fork: the child may only make async-signal-safe calls).
std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& env);

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace shadowfs::testing
