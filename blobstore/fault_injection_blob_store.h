// FaultInjectionBlobStore: a BlobStore that forwards to another one and misbehaves on request,
// for tests of everything above the primary (like leveldb's FaultInjectionTestEnv and RocksDB's
// fault-injection file system). It can add latency (slept through the injected Clock, so tests on
// a FakeClock stay instant), fail chosen or random calls, drop a body part-way, change objects
// behind the caller's back, and count calls per operation.
//
// Rules are installed at runtime and apply to calls that start afterwards; "the nth call" counts
// from the moment the rule is installed (n = 1 is the next call). Every call is counted, including
// those that an injected failure stops. Thread-safe: one mutex guards rules, counters and the
// random generator; no lock is held while sleeping or calling the wrapped store. With calls from
// one thread, which calls fail is a deterministic function of the seed.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/mutex.h"
#include "blobstore/blob_store.h"

namespace shadowfs::blobstore {

enum class BlobOp { kHead, kGet, kPut, kDelete, kList, kCopy, kSupportsConditionalWrites };
inline constexpr size_t kNumBlobOps = 7;
std::string_view BlobOpName(BlobOp op);

class FaultInjectionBlobStore final : public BlobStore {
 public:
  // Borrows `base` and `clock`, which must outlive this store.
  FaultInjectionBlobStore(BlobStore* base, base::Clock* clock, uint64_t seed = 1);

  Result<ObjectInfo> Head(std::string_view key, const Preconditions& conditions) override;
  using BlobStore::Head;
  Result<GetResult> Get(std::string_view key, const GetOptions& options, ByteSink& sink) override;
  Result<ObjectInfo> Put(std::string_view key, ByteSource& body,
                         const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  Result<ListPage> List(const ListOptions& options) override;
  Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                          const CopyOptions& options) override;
  Result<bool> SupportsConditionalWrites() override;
  std::string Describe() const override { return base_->Describe(); }

  // Latency added to every call, or to calls of one operation (which overrides the default).
  void SetLatency(std::chrono::nanoseconds latency) EXCLUDES(mu_);
  void SetLatency(BlobOp op, std::chrono::nanoseconds latency) EXCLUDES(mu_);

  // An injected failure either replaces the call (the wrapped store never sees it) or follows
  // it: the call took effect but its answer was lost, as when a connection drops after the
  // server acted, which is what makes retries need to be idempotent.
  enum class When { kInsteadOfCall, kAfterCall };

  // Fails the nth call from now of `op` (or of any operation) with `status`, once.
  void FailNthCall(BlobOp op, int n, Status status, When when = When::kInsteadOfCall) EXCLUDES(mu_);
  void FailNthCallOfAny(int n, Status status, When when = When::kInsteadOfCall) EXCLUDES(mu_);
  // Fails each call of `op` (or of any operation) with `probability`, instead of making it.
  void FailRandomly(double probability, Status status, std::optional<BlobOp> op = std::nullopt)
      EXCLUDES(mu_);

  // The next `times` Gets deliver only the first `bytes` bytes of their body to the sink and
  // then fail with Unavailable; a Get of at most `bytes` bytes completes normally.
  void DropGetsAfter(uint64_t bytes, int times = 1) EXCLUDES(mu_);
  // The next `times` Puts read at most the first `bytes` bytes of their body and then fail with
  // Unavailable (the wrapped store sees its body read fail).
  void DropPutsAfter(uint64_t bytes, int times = 1) EXCLUDES(mu_);

  // Just before the nth call from now of `op` (or of any operation) starts, another client
  // overwrites `key` with `data` in the wrapped store, or deletes it if `data` is nullopt.
  void MutateBeforeNthCall(std::optional<BlobOp> op, int n, std::string key,
                           std::optional<std::string> data) EXCLUDES(mu_);
  // The same, now. Not counted as a call.
  Status MutateNow(std::string_view key, std::optional<std::string_view> data);
  // Runs `action` on the calling thread just before the nth call from now of `op` (or of any
  // operation) starts: a test's way to act at an exact point of the code under test.
  void RunBeforeNthCall(std::optional<BlobOp> op, int n, std::function<void()> action)
      EXCLUDES(mu_);

  // Every List asks for at most `max_keys` keys per page, as a server with a lower limit than the
  // caller's would answer (0: no limit).
  void LimitListPages(int max_keys) EXCLUDES(mu_);

  int64_t calls(BlobOp op) const EXCLUDES(mu_);
  int64_t total_calls() const EXCLUDES(mu_);
  int64_t injected_failures() const EXCLUDES(mu_);
  void ResetCounters() EXCLUDES(mu_);
  // Removes every rule, latency included. Counters are kept.
  void ClearFaults() EXCLUDES(mu_);

 private:
  struct NthFailure {
    std::optional<BlobOp> op;
    int64_t at;  // the value of the op's (or the total) counter that fires it
    Status status;
    When when;
  };
  struct RandomFailure {
    std::optional<BlobOp> op;
    double probability;
    Status status;
  };
  struct Action {
    std::optional<BlobOp> op;
    int64_t at;
    std::function<void()> run;
  };
  // What happens to one call, decided when it starts.
  struct Plan {
    std::chrono::nanoseconds latency{0};
    std::vector<std::function<void()>> actions;
    std::optional<Status> fail_instead;
    std::optional<Status> fail_after;
    std::optional<uint64_t> drop_after;  // Get and Put only
    int list_page_limit = 0;             // List only
  };

  Plan Start(BlobOp op) EXCLUDES(mu_);
  // Sleeps and mutates; the failure to return instead of making the call, if any.
  Status Before(const Plan& plan);
  int64_t CounterFor(const std::optional<BlobOp>& op) const REQUIRES(mu_);

  BlobStore* const base_;
  base::Clock* const clock_;

  mutable base::Mutex mu_;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  // Reported counters (ResetCounters clears them) and the ones rules count on (never reset).
  std::array<int64_t, kNumBlobOps> calls_ GUARDED_BY(mu_){};
  int64_t total_calls_ GUARDED_BY(mu_) = 0;
  std::array<int64_t, kNumBlobOps> seen_ GUARDED_BY(mu_){};
  int64_t total_seen_ GUARDED_BY(mu_) = 0;
  int64_t injected_failures_ GUARDED_BY(mu_) = 0;
  std::chrono::nanoseconds default_latency_ GUARDED_BY(mu_){0};
  std::array<std::optional<std::chrono::nanoseconds>, kNumBlobOps> op_latency_ GUARDED_BY(mu_);
  std::vector<NthFailure> nth_failures_ GUARDED_BY(mu_);
  std::vector<RandomFailure> random_failures_ GUARDED_BY(mu_);
  std::vector<Action> actions_ GUARDED_BY(mu_);
  uint64_t drop_gets_after_ GUARDED_BY(mu_) = 0;
  int drop_gets_times_ GUARDED_BY(mu_) = 0;
  uint64_t drop_puts_after_ GUARDED_BY(mu_) = 0;
  int drop_puts_times_ GUARDED_BY(mu_) = 0;
  int list_page_limit_ GUARDED_BY(mu_) = 0;
};

}  // namespace shadowfs::blobstore
