// The engine's persisted model state (issue 5: "model state persists in the store across
// remounts"): one SQLite file, STORE/predict.db for a mount. Tables
//   experts(name TEXT PRIMARY KEY, version INTEGER, blob BLOB)  one row per expert (its Save),
//                                                               and "read_shapes" (the engine's
//                                                               experts::ReadShapes)
//   engine(name TEXT PRIMARY KEY, version INTEGER, blob BLOB)   "learner" (weights, as text) and
//                                                               "planner" (the threshold, as text)
// with PRAGMA user_version = kStateFormat. A save replaces every row in one transaction, so a
// crash leaves the previous state or the new one, never a mix. Reading a state that is missing,
// corrupt or of another format returns a Status; the engine logs it and starts afresh.
//
// Functions only; no state of their own (each call opens and closes the file). Safe to call from
// any thread, but concurrent saves to one file serialise on SQLite's lock.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "blobstore/base/result.h"
#include "blobstore/base/status.h"

namespace shadowfs::predict {

inline constexpr int kStateFormat = 1;

struct EngineState {
  std::vector<std::pair<std::string, std::string>> experts;  // name, blob
  std::string learner;                                       // "" none
  double threshold = -1;                                     // < 0: none
};

// Writes the state atomically, creating the file if needed.
base::Status SaveEngineState(const std::string& path, const EngineState& state);
// NotFound if there is no file; Corruption or NotSupported if it cannot be used.
base::Result<EngineState> LoadEngineState(const std::string& path);

}  // namespace shadowfs::predict
