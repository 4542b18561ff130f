// PrimaryProbe: answers "is the primary reachable?" within a deadline, for `shadowfs status`. A
// BlobStore call has no deadline of its own (the S3 client retries by its policy), so the probe
// (a one-key listing of the prefix) runs on the probe's own thread and the caller waits at most
// the timeout; a probe still running is reused by later callers instead of starting another.
// The thread is named and joined by the destructor.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "blobstore/base/mutex.h"
#include "blobstore/base/status.h"
#include "blobstore/blob_store.h"

namespace shadowfs::cli {

class PrimaryProbe {
 public:
  PrimaryProbe(blobstore::BlobStore* primary, std::string prefix);
  ~PrimaryProbe();  // waits for a probe in flight
  PrimaryProbe(const PrimaryProbe&) = delete;
  PrimaryProbe& operator=(const PrimaryProbe&) = delete;

  // OK if the primary answered a one-key List within `timeout`; Unavailable if it did not
  // answer in time; the listing's error otherwise.
  base::Status Check(std::chrono::milliseconds timeout) EXCLUDES(mu_);

 private:
  void Run();

  blobstore::BlobStore* const primary_;
  const std::string prefix_;
  base::Mutex mu_;  // leaf
  base::CondVar done_cv_;
  bool running_ GUARDED_BY(mu_) = false;
  uint64_t generation_ GUARDED_BY(mu_) = 0;  // probes finished
  base::Status last_ GUARDED_BY(mu_);
  std::thread thread_;  // the last probe's; joined before the next starts and at destruction
};

}  // namespace shadowfs::cli
