// The prediction engine's vocabulary: interned key ids, one read as the models see it (Access),
// and a byte range a model expects to be read (Candidate). Plain values; no thread-safety of
// their own.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

#include "blobstore/base/clock.h"

namespace shadowfs::predict {

// A key (or a process name) interned by a KeyTable; valid until the table recycles it (see
// Expert::Forget).
using KeyId = uint32_t;
inline constexpr KeyId kNoKey = std::numeric_limits<KeyId>::max();

// One read, with its key and process interned. The string views point into the KeyTable and are
// valid for the duration of the call they are passed to.
struct Access {
  KeyId key = kNoKey;
  KeyId process = kNoKey;  // interned in the engine's process table ("" when unknown)
  std::string_view key_name;
  std::string_view process_name;
  std::string_view etag;  // of the version read; "" unknown
  uint64_t object_size = 0;
  uint64_t offset = 0;
  uint64_t length = 0;  // 0: an open whose reads the kernel's page cache serves (no range)
  base::WallTime time{};
  bool first_read = false;  // the first read through an open file: an "open" for the models
  bool from_shadow = false;
};

// A byte range an expert expects to be read within the horizon, with the expert's own score in
// [0, 1] (not yet calibrated: the learner turns scores into probabilities).
struct Candidate {
  KeyId key = kNoKey;
  uint64_t offset = 0;
  uint64_t length = 0;  // 0: to the end of the object
  double score = 0;
  base::WallTime expected_read{};  // when the read is expected; zero: soon
};

}  // namespace shadowfs::predict
