#include "cli/prediction.h"

#include <algorithm>
#include <utility>

#include "blobstore/base/executor.h"
#include "blobstore/base/logging.h"

namespace shadowfs::cli {

PrimaryNamespace::PrimaryNamespace(blobstore::BlobStore* primary, base::Clock* clock,
                                   std::chrono::seconds ttl, size_t max_dirs,
                                   std::chrono::seconds retry_after)
    : primary_(primary),
      clock_(clock),
      ttl_(ttl),
      max_dirs_(std::max<size_t>(1, max_dirs)),
      retry_after_(retry_after),
      thread_([this] { Run(); }) {}

PrimaryNamespace::~PrimaryNamespace() {
  {
    base::MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  thread_.join();
}

base::Result<std::vector<predict::ObjectInfo>> PrimaryNamespace::ListDirectory(std::string_view dir,
                                                                               size_t limit) {
  const base::MonoTime now = clock_->Monotonic();
  base::MutexLock lock(&mu_);
  auto it = cache_.find(dir);
  if (it != cache_.end() &&
      (it->second.objects.size() < it->second.limit || it->second.limit >= limit)) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    if (now - it->second.fetched >= ttl_) Schedule(dir, limit);  // served stale meanwhile
    std::vector<predict::ObjectInfo> out = it->second.objects;
    if (out.size() > limit) out.resize(limit);
    return out;
  }
  if (auto f = failed_.find(dir); f != failed_.end()) {
    if (now - f->second < retry_after_) {
      return base::Status::Unavailable("listing '" + std::string(dir) + "' failed recently");
    }
    failed_.erase(f);
  }
  Schedule(dir, limit);
  return base::Status::Unavailable("listing '" + std::string(dir) + "': ask again soon");
}

void PrimaryNamespace::Schedule(std::string_view dir, size_t limit) {
  // Bounded: the engine asks again later for anything dropped here.
  if (queued_.contains(dir) || queue_.size() >= 64) return;
  queued_.emplace(dir);
  queue_.push_back({std::string(dir), limit});
  cv_.SignalAll();
}

void PrimaryNamespace::SetListingObserver(ListingObserver observer) {
  base::MutexLock lock(&mu_);
  observer_ = std::move(observer);
}

base::Result<PrimaryNamespace::Fetched> PrimaryNamespace::Fetch(const Job& job) {
  Fetched fetched;
  std::vector<predict::ObjectInfo>& objects = fetched.objects;
  blobstore::ListOptions options;
  options.prefix = job.dir;
  options.delimiter = "/";
  while (objects.size() < job.limit) {
    options.max_keys = static_cast<int>(std::min<size_t>(1000, job.limit - objects.size()));
    {
      base::MutexLock lock(&mu_);
      ++requests_;
    }
    auto page = primary_->List(options);
    if (!page.ok()) return page.status();
    for (blobstore::ObjectInfo& o : page->objects) {
      if (o.key.size() == job.dir.size()) {  // the directory's own marker
        fetched.has_marker = true;
        continue;
      }
      objects.push_back({std::move(o.key), o.size, std::move(o.etag)});
    }
    if (!page->truncated) break;
    options.continuation_token = page->next_continuation_token;
  }
  if (objects.size() > job.limit) objects.resize(job.limit);
  return fetched;
}

void PrimaryNamespace::Run() {
  base::SetThreadName("predict-list");
  for (;;) {
    Job job;
    {
      base::MutexLock lock(&mu_);
      while (!stop_ && queue_.empty()) cv_.Wait(&mu_);
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const base::MonoTime started = clock_->Monotonic();
    auto listed = Fetch(job);
    if (listed.ok() && !job.dir.empty()) {
      // Before the job leaves `queued_`, so that WaitIdle covers it.
      ListingObserver observer;
      {
        base::MutexLock lock(&mu_);
        observer = observer_;
      }
      if (observer) observer(job.dir, listed->has_marker, started);
    }
    const base::MonoTime now = clock_->Monotonic();
    base::MutexLock lock(&mu_);
    queued_.erase(job.dir);
    cv_.SignalAll();
    if (!listed.ok()) {
      failed_[job.dir] = now;
      if (failed_.size() > max_dirs_) failed_.erase(failed_.begin());
      continue;
    }
    auto it = cache_.find(job.dir);
    if (it == cache_.end()) {
      lru_.emplace_front(job.dir);
      it = cache_.emplace(job.dir, Listing{}).first;
      it->second.lru = lru_.begin();
    }
    it->second.objects = std::move(listed->objects);
    it->second.limit = job.limit;
    it->second.fetched = now;
    while (cache_.size() > max_dirs_) {
      cache_.erase(lru_.back());
      lru_.pop_back();
    }
  }
}

uint64_t PrimaryNamespace::requests() const {
  base::MutexLock lock(&mu_);
  return requests_;
}

void PrimaryNamespace::WaitIdle() {
  base::MutexLock lock(&mu_);
  while (!queued_.empty()) cv_.Wait(&mu_);
}

PredictionLoop::PredictionLoop(predict::EventRing* ring, predict::Engine* engine,
                               std::function<void(const predict::AccessEvent&)> also,
                               base::Runtime runtime)
    : ring_(ring),
      engine_(engine),
      also_(std::move(also)),
      runtime_(runtime),
      events_(
          runtime.metrics->GetCounter("shadowfs_access_events_total",
                                      "Reads the filesystem reported to the prediction engine")),
      dropped_(runtime.metrics->GetCounter(
          "shadowfs_access_events_dropped_total",
          "Reads not reported to the prediction engine because its queue was full")),
      thread_([this] { Run(); }) {}

PredictionLoop::~PredictionLoop() {
  {
    base::MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.Signal();
  ring_->Interrupt();
  thread_.join();
}

size_t PredictionLoop::DrainOnce() {
  const size_t n = ring_->Drain([this](predict::AccessEvent&& e) {
    if (also_) also_(e);
    if (engine_) engine_->Observe(e);
  });
  events_.Increment(n);
  uint64_t dropped = ring_->dropped();
  dropped_.Increment(dropped - dropped_seen_);
  dropped_seen_ = dropped;
  return n;
}

void PredictionLoop::Run() {
  base::SetThreadName("predict");
  // The prefetches an event warrants must leave before the reader's next request: a job that
  // opens a file every 40 ms (one round trip) gains nothing from a prediction made 40 ms late.
  // While reads come (the last within kStayBusy), the loop drains every kBusyWait, and the read
  // path makes no system call for it. Once quiet, it sleeps until the next event wakes it (the
  // first event after a sleep pays one futex wake) or the next tick is due.
  constexpr std::chrono::milliseconds kBusyWait{1}, kStayBusy{100};
  constexpr std::chrono::seconds kTickEvery{1};
  base::MonoTime last_tick = runtime_.clock->Monotonic();
  base::MonoTime last_event{};
  for (;;) {
    bool stop;
    {
      base::MutexLock lock(&mu_);
      stop = stop_;
    }
    const size_t drained = DrainOnce();
    const base::MonoTime now = runtime_.clock->Monotonic();
    if (drained > 0) last_event = now;
    if (engine_ && (stop || now - last_tick >= kTickEvery)) {
      engine_->Tick();
      last_tick = now;
    }
    if (stop) return;
    if (now - last_event < kStayBusy) {
      base::MutexLock lock(&mu_);
      if (!stop_) cv_.WaitFor(&mu_, kBusyWait);
    } else {
      ring_->WaitForEvents(
          std::max<std::chrono::nanoseconds>(last_tick + kTickEvery - now, kBusyWait));
    }
  }
}

namespace {

nlohmann::json ExpertJson(const predict::ExpertAccounting& e) {
  return {{"expert", e.expert},
          {"prefetches", e.prefetches},
          {"prefetched_bytes", e.prefetched_bytes},
          {"useful_bytes", e.useful_bytes},
          {"wasted_bytes", e.wasted_bytes},
          {"useful_prefetches", e.useful_prefetches},
          {"timely_prefetches", e.timely_prefetches},
          {"precision", e.precision()},
          {"timeliness", e.timeliness()}};
}

}  // namespace

nlohmann::json AccountingJson(const predict::Accounting& a) {
  nlohmann::json out = ExpertJson(a.overall);
  out.erase("expert");
  out["demand_reads"] = a.demand_reads;
  out["demand_bytes"] = a.demand_bytes;
  out["covered_reads"] = a.covered_reads;
  out["covered_bytes"] = a.covered_bytes;
  out["coverage"] = a.coverage();
  out["calibration_error"] = a.calibration_error;
  out["labelled_predictions"] = a.labelled_predictions;
  out["threshold"] = a.threshold;
  out["bytes_in_flight"] = a.bytes_in_flight;
  out["tracked_keys"] = a.tracked_keys;
  out["memory_bytes"] = a.memory_bytes;
  out["events"] = a.events;
  out["experts"] = nlohmann::json::array();
  for (const predict::ExpertAccounting& e : a.experts) out["experts"].push_back(ExpertJson(e));
  return out;
}

nlohmann::json PredictionsJson(const std::vector<predict::Prediction>& predictions) {
  nlohmann::json out = nlohmann::json::array();
  for (const predict::Prediction& p : predictions) {
    nlohmann::json experts = nlohmann::json::array();
    for (const auto& [name, score] : p.experts) {
      experts.push_back({{"expert", name}, {"score", score}});
    }
    out.push_back({{"key", p.key},
                   {"offset", p.offset},
                   {"length", p.length},
                   {"probability", p.probability},
                   {"experts", experts}});
  }
  return out;
}

}  // namespace shadowfs::cli
