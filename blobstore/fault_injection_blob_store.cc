#include "blobstore/fault_injection_blob_store.h"

#include <algorithm>
#include <atomic>

namespace shadowfs::blobstore {

namespace {

size_t Index(BlobOp op) { return static_cast<size_t>(op); }

// An injected failure must be a failure: Result cannot carry an OK status.
Status NotOk(Status status) {
  if (status.ok()) return Status::IOError("injected fault");
  return status;
}

Status Dropped(uint64_t bytes, std::string_view what) {
  return Status::Unavailable("injected fault: connection dropped after " + std::to_string(bytes) +
                             " bytes of the " + std::string(what));
}

// Passes on only the bytes at offsets below the limit; a write reaching past it fails, as the
// connection it came from would.
class DroppingSink final : public ByteSink {
 public:
  DroppingSink(ByteSink& inner, uint64_t limit) : inner_(inner), limit_(limit) {}
  Status WriteAt(uint64_t offset, std::string_view data) override {
    if (offset + data.size() <= limit_) return inner_.WriteAt(offset, data);
    dropped_ = true;
    if (offset < limit_) {
      SHADOWFS_RETURN_IF_ERROR(inner_.WriteAt(offset, data.substr(0, limit_ - offset)));
    }
    return Dropped(limit_, "download");
  }
  bool dropped() const { return dropped_; }

 private:
  ByteSink& inner_;
  const uint64_t limit_;
  std::atomic<bool> dropped_{false};
};

// Reads through only below the limit; a read reaching past it reads what it may, then fails.
class DroppingSource final : public ByteSource {
 public:
  DroppingSource(ByteSource& inner, uint64_t limit) : inner_(inner), limit_(limit) {}
  uint64_t size() const override { return inner_.size(); }
  Status ReadAt(uint64_t offset, std::span<char> out) override {
    if (offset + out.size() <= limit_) return inner_.ReadAt(offset, out);
    dropped_ = true;
    if (offset < limit_)
      SHADOWFS_RETURN_IF_ERROR(inner_.ReadAt(offset, out.first(limit_ - offset)));
    return Dropped(limit_, "upload");
  }
  bool dropped() const { return dropped_; }

 private:
  ByteSource& inner_;
  const uint64_t limit_;
  std::atomic<bool> dropped_{false};
};

}  // namespace

std::string_view BlobOpName(BlobOp op) {
  switch (op) {
    case BlobOp::kHead:
      return "Head";
    case BlobOp::kGet:
      return "Get";
    case BlobOp::kPut:
      return "Put";
    case BlobOp::kDelete:
      return "Delete";
    case BlobOp::kList:
      return "List";
    case BlobOp::kCopy:
      return "Copy";
    case BlobOp::kSupportsConditionalWrites:
      return "SupportsConditionalWrites";
  }
  return "?";
}

FaultInjectionBlobStore::FaultInjectionBlobStore(BlobStore* base, base::Clock* clock, uint64_t seed)
    : base_(base), clock_(clock), rng_(seed) {}

void FaultInjectionBlobStore::SetLatency(std::chrono::nanoseconds latency) {
  base::MutexLock lock(&mu_);
  default_latency_ = latency;
}

void FaultInjectionBlobStore::SetLatency(BlobOp op, std::chrono::nanoseconds latency) {
  base::MutexLock lock(&mu_);
  op_latency_[Index(op)] = latency;
}

int64_t FaultInjectionBlobStore::CounterFor(const std::optional<BlobOp>& op) const {
  return op ? seen_[Index(*op)] : total_seen_;
}

void FaultInjectionBlobStore::FailNthCall(BlobOp op, int n, Status status, When when) {
  base::MutexLock lock(&mu_);
  nth_failures_.push_back({op, CounterFor(op) + n, NotOk(std::move(status)), when});
}

void FaultInjectionBlobStore::FailNthCallOfAny(int n, Status status, When when) {
  base::MutexLock lock(&mu_);
  nth_failures_.push_back({std::nullopt, total_seen_ + n, NotOk(std::move(status)), when});
}

void FaultInjectionBlobStore::FailRandomly(double probability, Status status,
                                           std::optional<BlobOp> op) {
  base::MutexLock lock(&mu_);
  random_failures_.push_back({op, probability, NotOk(std::move(status))});
}

void FaultInjectionBlobStore::DropGetsAfter(uint64_t bytes, int times) {
  base::MutexLock lock(&mu_);
  drop_gets_after_ = bytes;
  drop_gets_times_ = times;
}

void FaultInjectionBlobStore::DropPutsAfter(uint64_t bytes, int times) {
  base::MutexLock lock(&mu_);
  drop_puts_after_ = bytes;
  drop_puts_times_ = times;
}

void FaultInjectionBlobStore::MutateBeforeNthCall(std::optional<BlobOp> op, int n, std::string key,
                                                  std::optional<std::string> data) {
  RunBeforeNthCall(op, n, [this, key = std::move(key), data = std::move(data)] {
    // A failed mutation would be a broken test setup; the test sees it in the store's contents.
    (void)MutateNow(key, data ? std::optional<std::string_view>(*data) : std::nullopt);
  });
}

void FaultInjectionBlobStore::RunBeforeNthCall(std::optional<BlobOp> op, int n,
                                               std::function<void()> action) {
  base::MutexLock lock(&mu_);
  actions_.push_back({op, CounterFor(op) + n, std::move(action)});
}

void FaultInjectionBlobStore::LimitListPages(int max_keys) {
  base::MutexLock lock(&mu_);
  list_page_limit_ = max_keys;
}

Status FaultInjectionBlobStore::MutateNow(std::string_view key,
                                          std::optional<std::string_view> data) {
  if (!data) return base_->Delete(key);
  auto put = PutString(*base_, key, *data);
  return put.ok() ? Status::Ok() : put.status();
}

int64_t FaultInjectionBlobStore::calls(BlobOp op) const {
  base::MutexLock lock(&mu_);
  return calls_[Index(op)];
}

int64_t FaultInjectionBlobStore::total_calls() const {
  base::MutexLock lock(&mu_);
  return total_calls_;
}

int64_t FaultInjectionBlobStore::injected_failures() const {
  base::MutexLock lock(&mu_);
  return injected_failures_;
}

void FaultInjectionBlobStore::ResetCounters() {
  base::MutexLock lock(&mu_);
  calls_.fill(0);
  total_calls_ = 0;
  injected_failures_ = 0;
}

void FaultInjectionBlobStore::ClearFaults() {
  base::MutexLock lock(&mu_);
  default_latency_ = std::chrono::nanoseconds(0);
  op_latency_.fill(std::nullopt);
  nth_failures_.clear();
  random_failures_.clear();
  actions_.clear();
  list_page_limit_ = 0;
  drop_gets_times_ = 0;
  drop_puts_times_ = 0;
}

FaultInjectionBlobStore::Plan FaultInjectionBlobStore::Start(BlobOp op) {
  base::MutexLock lock(&mu_);
  const size_t i = Index(op);
  ++calls_[i];
  ++total_calls_;
  ++seen_[i];
  ++total_seen_;
  Plan plan;
  plan.latency = op_latency_[i].value_or(default_latency_);
  if (op == BlobOp::kList) plan.list_page_limit = list_page_limit_;

  const int64_t op_seen = seen_[i];
  const int64_t total_seen = total_seen_;
  auto fires = [&](const std::optional<BlobOp>& rule_op, int64_t at) {
    return rule_op ? (*rule_op == op && op_seen == at) : total_seen == at;
  };
  for (auto it = actions_.begin(); it != actions_.end();) {
    if (!fires(it->op, it->at)) {
      ++it;
      continue;
    }
    plan.actions.push_back(std::move(it->run));
    it = actions_.erase(it);
  }
  for (auto it = nth_failures_.begin(); it != nth_failures_.end();) {
    if (!fires(it->op, it->at)) {
      ++it;
      continue;
    }
    auto& slot = it->when == When::kInsteadOfCall ? plan.fail_instead : plan.fail_after;
    if (!slot) slot = it->status;
    it = nth_failures_.erase(it);
  }
  for (const auto& rule : random_failures_) {
    if (rule.op && *rule.op != op) continue;
    // Drawn for every matching call, so the sequence depends only on the seed and the calls.
    double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    if (draw < rule.probability && !plan.fail_instead) plan.fail_instead = rule.status;
  }
  if (op == BlobOp::kGet && drop_gets_times_ > 0) {
    --drop_gets_times_;
    plan.drop_after = drop_gets_after_;
  }
  if (op == BlobOp::kPut && drop_puts_times_ > 0) {
    --drop_puts_times_;
    plan.drop_after = drop_puts_after_;
  }
  if (plan.fail_instead) ++injected_failures_;
  if (plan.fail_after && !plan.fail_instead) ++injected_failures_;
  return plan;
}

Status FaultInjectionBlobStore::Before(const Plan& plan) {
  if (plan.latency.count() > 0) clock_->SleepFor(plan.latency);
  for (const auto& action : plan.actions) action();
  return plan.fail_instead ? *plan.fail_instead : Status::Ok();
}

Result<ObjectInfo> FaultInjectionBlobStore::Head(std::string_view key,
                                                 const Preconditions& conditions) {
  Plan plan = Start(BlobOp::kHead);
  SHADOWFS_RETURN_IF_ERROR(Before(plan));
  auto result = base_->Head(key, conditions);
  if (plan.fail_after) return *plan.fail_after;
  return result;
}

Result<GetResult> FaultInjectionBlobStore::Get(std::string_view key, const GetOptions& options,
                                               ByteSink& sink) {
  Plan plan = Start(BlobOp::kGet);
  SHADOWFS_RETURN_IF_ERROR(Before(plan));
  if (!plan.drop_after) {
    auto result = base_->Get(key, options, sink);
    if (plan.fail_after) return *plan.fail_after;
    return result;
  }
  DroppingSink dropping(sink, *plan.drop_after);
  auto result = base_->Get(key, options, dropping);
  if (dropping.dropped()) return Dropped(*plan.drop_after, "download");
  if (plan.fail_after) return *plan.fail_after;
  return result;
}

Result<ObjectInfo> FaultInjectionBlobStore::Put(std::string_view key, ByteSource& body,
                                                const PutOptions& options) {
  Plan plan = Start(BlobOp::kPut);
  SHADOWFS_RETURN_IF_ERROR(Before(plan));
  if (!plan.drop_after) {
    auto result = base_->Put(key, body, options);
    if (plan.fail_after) return *plan.fail_after;
    return result;
  }
  DroppingSource dropping(body, *plan.drop_after);
  auto result = base_->Put(key, dropping, options);
  if (dropping.dropped()) return Dropped(*plan.drop_after, "upload");
  if (plan.fail_after) return *plan.fail_after;
  return result;
}

Status FaultInjectionBlobStore::Delete(std::string_view key) {
  Plan plan = Start(BlobOp::kDelete);
  SHADOWFS_RETURN_IF_ERROR(Before(plan));
  Status status = base_->Delete(key);
  if (plan.fail_after) return *plan.fail_after;
  return status;
}

Result<ListPage> FaultInjectionBlobStore::List(const ListOptions& options) {
  Plan plan = Start(BlobOp::kList);
  SHADOWFS_RETURN_IF_ERROR(Before(plan));
  ListOptions limited = options;
  if (plan.list_page_limit > 0) limited.max_keys = std::min(limited.max_keys, plan.list_page_limit);
  auto result = base_->List(limited);
  if (plan.fail_after) return *plan.fail_after;
  return result;
}

Result<ObjectInfo> FaultInjectionBlobStore::Copy(std::string_view source_key,
                                                 std::string_view dest_key,
                                                 const CopyOptions& options) {
  Plan plan = Start(BlobOp::kCopy);
  SHADOWFS_RETURN_IF_ERROR(Before(plan));
  auto result = base_->Copy(source_key, dest_key, options);
  if (plan.fail_after) return *plan.fail_after;
  return result;
}

Result<bool> FaultInjectionBlobStore::SupportsConditionalWrites() {
  Plan plan = Start(BlobOp::kSupportsConditionalWrites);
  SHADOWFS_RETURN_IF_ERROR(Before(plan));
  auto result = base_->SupportsConditionalWrites();
  if (plan.fail_after) return *plan.fail_after;
  return result;
}

}  // namespace shadowfs::blobstore
