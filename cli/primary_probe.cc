#include "cli/primary_probe.h"

#include "blobstore/base/executor.h"

namespace shadowfs::cli {

PrimaryProbe::PrimaryProbe(blobstore::BlobStore* primary, std::string prefix)
    : primary_(primary), prefix_(std::move(prefix)) {}

PrimaryProbe::~PrimaryProbe() {
  if (thread_.joinable()) thread_.join();
}

void PrimaryProbe::Run() {
  base::SetThreadName("primary-probe");
  blobstore::ListOptions list;
  list.prefix = prefix_;
  list.max_keys = 1;
  auto page = primary_->List(list);
  base::MutexLock lock(&mu_);
  last_ = page.ok() ? base::Status::Ok() : page.status();
  running_ = false;
  ++generation_;
  done_cv_.SignalAll();
}

base::Status PrimaryProbe::Check(std::chrono::milliseconds timeout) {
  base::MutexLock lock(&mu_);
  if (!running_) {
    // The previous probe has finished (running_ is false), so this join does not block long.
    if (thread_.joinable()) thread_.join();
    running_ = true;
    thread_ = std::thread([this] { Run(); });
  }
  const uint64_t want = generation_ + 1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (generation_ < want) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) {
      return base::Status::Unavailable("the primary did not answer a listing within " +
                                       std::to_string(timeout.count()) + " ms");
    }
    done_cv_.WaitFor(&mu_, std::chrono::duration_cast<std::chrono::milliseconds>(left) +
                               std::chrono::milliseconds(1));
  }
  return last_;
}

}  // namespace shadowfs::cli
