// AccessEvent: one read of a file, as the filesystem reports it to the prediction engine, and
// AccessSink, where it goes. An event of length 0 is an open whose reads the kernel's page cache
// serves (the filesystem let it keep the file's pages): the application read the file, but no
// range reached the filesystem, so the open itself is reported, for the models that learn from
// opens. The read path calls Record on every read, so implementations must
// not lock, allocate or make a system call: copy the event into preallocated storage or drop it
// (and count the drop). The key, ETag and process name are shared, immutable strings owned by the
// open file, so recording one costs three reference-count increments.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "blobstore/base/clock.h"

namespace shadowfs::predict {

struct AccessEvent {
  std::shared_ptr<const std::string> key;           // the primary key
  std::shared_ptr<const std::string> process_name;  // of the opener, read at open ("" unknown)
  std::shared_ptr<const std::string> etag;          // of the version read ("" new, unknown)
  uint64_t object_size = 0;                         // of that version
  uint64_t offset = 0;
  uint64_t length = 0;  // 0: an open served from the kernel's page cache (see above)
  base::WallTime time{};
  bool first_read = false;   // the first read through this open file: an "open" for the models
  bool from_shadow = false;  // served from a shadow (true) or the primary / staged data
};

class AccessSink {
 public:
  virtual ~AccessSink() = default;
  // Thread-safe, wait-free: never blocks, allocates or makes a system call.
  virtual void Record(const AccessEvent& event) noexcept = 0;
};

}  // namespace shadowfs::predict
