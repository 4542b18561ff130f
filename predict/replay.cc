#include "predict/replay.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <queue>
#include <unordered_map>
#include <vector>

#include "predict/access_log.h"

namespace shadowfs::predict {
namespace {

constexpr auto kTick = std::chrono::seconds(1);
constexpr auto kIdleTick = std::chrono::seconds(60);

}  // namespace

// The simulated primary's objects: their sizes, and the namespace the experts list (every
// object the log names, from the start: a listing shows files before they are read).
class Replayer::Primary final : public NamespaceView {
 public:
  void NoteObject(const std::string& key, uint64_t size, std::string_view etag) {
    Object& o = objects_[key];
    o.size = size;
    if (!etag.empty()) o.etag = etag;
  }
  uint64_t SizeOf(const std::string& key) const {
    auto it = objects_.find(key);
    return it == objects_.end() ? 0 : it->second.size;
  }
  base::Result<std::vector<ObjectInfo>> ListDirectory(std::string_view dir, size_t limit) override {
    std::vector<ObjectInfo> out;
    for (auto it = objects_.lower_bound(dir);
         it != objects_.end() && out.size() < limit && it->first.starts_with(dir); ++it) {
      if (it->first.find('/', dir.size()) != std::string::npos) continue;  // deeper down
      out.push_back({it->first, it->second.size, it->second.etag});
    }
    return out;
  }

 private:
  struct Object {
    uint64_t size = 0;
    std::string etag;
  };
  std::map<std::string, Object, std::less<>> objects_;
};

// The simulated sink and store. Called only from the replaying thread (the engine offers from
// Observe/Tick, which the replayer calls), so it needs no lock.
class Replayer::Sim final : public base::PrefetchSink, public StoreView {
 public:
  Sim(const ReplayOptions& options, base::Clock* clock, const Primary* primary)
      : options_(options), clock_(clock), primary_(primary) {}

  bool Offer(base::PrefetchRequest r) override {
    if (pending_.size() >= options_.max_queued) return false;
    uint64_t length = r.length;
    if (length == 0) {
      const uint64_t size = primary_->SizeOf(r.key);
      length = size > r.offset ? size - r.offset : 0;
    }
    // Like the Materializer, refuse what the store already holds (read through, or prefetched).
    if (options_.read_through && length > 0 && Holds(r.key, r.offset, length)) return false;
    auto transfer = std::chrono::duration<double>(static_cast<double>(length) /
                                                  options_.transfer_bytes_per_second);
    base::WallTime done = clock_->Now() + options_.request_latency +
                          std::chrono::duration_cast<std::chrono::microseconds>(transfer);
    pending_.push({done, seq_++, r.key, r.offset, length});
    return true;
  }

  uint64_t used_bytes() const override { return used_; }
  uint64_t capacity_bytes() const override { return options_.store_capacity_bytes; }

  // Completes the prefetches due by `now` into the store, telling the engine.
  void Deliver(base::WallTime now, Engine* engine) {
    while (!pending_.empty() && pending_.top().done <= now) {
      Pending p = pending_.top();
      pending_.pop();
      Store(p.key, p.offset, p.length);
      base::PrefetchResult result;
      result.key = p.key;
      result.offset = p.offset;
      result.length = p.length;
      result.ok = true;
      result.finished = p.done;
      engine->OnPrefetchDone(result);
    }
  }

  // Whether the ranges stored for `key`, together, cover [offset, offset + length).
  bool Holds(const std::string& key, uint64_t offset, uint64_t length) const {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return false;
    std::vector<std::pair<uint64_t, uint64_t>> ranges = it->second;
    std::sort(ranges.begin(), ranges.end());
    uint64_t covered = offset;  // everything before is covered
    const uint64_t end = offset + std::max<uint64_t>(length, 1);
    for (const auto& [b, e] : ranges) {
      if (b > covered) break;
      covered = std::max(covered, e);
      if (covered >= end) return true;
    }
    return false;
  }

  // A range the store now holds: a prefetch delivered, or a demand read's read-through (the
  // mount keeps what it fetched for a read as a shadow). Oldest first out when over capacity.
  void Store(const std::string& key, uint64_t offset, uint64_t length) {
    if (length == 0) return;
    std::vector<std::pair<uint64_t, uint64_t>>& ranges = by_key_[key];
    used_ += length;
    if (!stored_.empty() && stored_.back().key == key && !ranges.empty() &&
        ranges.back() ==
            std::make_pair(stored_.back().offset, stored_.back().offset + stored_.back().length) &&
        ranges.back().second == offset) {
      // The stream the last range ended: extend it, so that a file read in small pieces stays
      // one range (Holds stays cheap).
      stored_.back().length += length;
      ranges.back().second += length;
    } else {
      stored_.push_back({key, offset, length});
      ranges.emplace_back(offset, offset + length);
    }
    while (used_ > options_.store_capacity_bytes && !stored_.empty()) Evict();
  }

 private:
  struct Pending {
    base::WallTime done;
    uint64_t seq;
    std::string key;
    uint64_t offset;
    uint64_t length;
    bool operator>(const Pending& o) const { return done != o.done ? done > o.done : seq > o.seq; }
  };
  struct Stored {
    std::string key;
    uint64_t offset;
    uint64_t length;
  };

  void Evict() {
    Stored s = std::move(stored_.front());
    stored_.pop_front();
    used_ -= std::min(used_, s.length);
    auto it = by_key_.find(s.key);
    if (it == by_key_.end()) return;
    auto& ranges = it->second;
    auto r = std::find(ranges.begin(), ranges.end(),
                       std::pair<uint64_t, uint64_t>(s.offset, s.offset + s.length));
    if (r != ranges.end()) ranges.erase(r);
    if (ranges.empty()) by_key_.erase(it);
  }

  const ReplayOptions& options_;
  base::Clock* const clock_;
  const Primary* const primary_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
  uint64_t seq_ = 0;
  std::deque<Stored> stored_;  // oldest first: evicted first
  std::unordered_map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> by_key_;
  uint64_t used_ = 0;
};

Replayer::Replayer(ReplayOptions options, Engine::ExpertFactory experts)
    : options_(std::move(options)),
      experts_(std::move(experts)),
      logger_(std::make_unique<base::StderrLogger>(base::LogLevel::kWarning)),
      primary_(std::make_unique<Primary>()) {}

Replayer::~Replayer() {
  engine_.reset();  // before the sink it may still reference
}

Engine* Replayer::engine() { return engine_.get(); }

void Replayer::NoteObject(const std::string& key, uint64_t size, std::string_view etag) {
  primary_->NoteObject(key, size, etag);
}

void Replayer::AdvanceTo(base::WallTime t) {
  auto horizon = options_.engine.horizon;
  while (next_tick_ <= t) {
    clock_->Advance(next_tick_ - clock_->Now());
    sim_->Deliver(next_tick_, engine_.get());
    engine_->Tick();
    // Every second near an event (after the last, before the next); coarser through idle gaps.
    bool idle = next_tick_ - last_event_ > horizon && t - next_tick_ > horizon;
    next_tick_ += idle ? std::chrono::duration_cast<std::chrono::seconds>(kIdleTick) : kTick;
  }
  if (t > clock_->Now()) clock_->Advance(t - clock_->Now());
  sim_->Deliver(t, engine_.get());
}

base::Status Replayer::Feed(AccessEvent event) {
  if (finished_) return base::Status::InvalidArgument("replay already finished");
  if (event.key == nullptr || event.key->empty()) {
    return base::Status::InvalidArgument("an access without a key");
  }
  if (engine_ == nullptr) {
    clock_ = std::make_unique<base::FakeClock>(event.time);
    sim_ = std::make_unique<Sim>(options_, clock_.get(), primary_.get());
    EngineDeps deps;
    deps.store = sim_.get();
    if (options_.list_directories) deps.names = primary_.get();
    deps.runtime = {clock_.get(), logger_.get(), &metrics_};
    auto engine = Engine::CreateWithExperts(options_.engine, deps, experts_);
    if (!engine.ok()) return engine.status();
    engine_ = *std::move(engine);
    engine_->AttachSink(sim_.get());
    next_tick_ = event.time + kTick;
    last_event_ = event.time;
  }
  base::WallTime t = std::max(event.time, clock_->Now());
  AdvanceTo(t);
  last_event_ = t;
  event.time = t;
  primary_->NoteObject(*event.key, event.object_size, event.etag ? *event.etag : "");
  event.from_shadow = sim_->Holds(*event.key, event.offset, event.length);
  engine_->Observe(event);
  if (options_.read_through && !event.from_shadow) {
    sim_->Store(*event.key, event.offset, event.length);
  }
  return base::Status::Ok();
}

base::Result<Accounting> Replayer::Finish() {
  if (engine_ == nullptr) return Accounting{};
  if (!finished_) {
    finished_ = true;
    AdvanceTo(clock_->Now() + options_.engine.horizon + 2 * kTick);
    SHADOWFS_RETURN_IF_ERROR(engine_->Save());
  }
  return engine_->accounting();
}

base::Result<Accounting> ReplayAccessLog(const std::string& log_path, const ReplayOptions& options,
                                         Engine::ExpertFactory experts) {
  Replayer replayer(options, std::move(experts));
  AccessEvent event;
  {
    SHADOWFS_ASSIGN_OR_RETURN(std::unique_ptr<AccessLogReader> sizes,
                              AccessLogReader::Open(log_path));
    while (true) {
      SHADOWFS_ASSIGN_OR_RETURN(bool more, sizes->Next(&event));
      if (!more) break;
      replayer.NoteObject(*event.key, event.object_size, event.etag ? *event.etag : "");
    }
  }
  SHADOWFS_ASSIGN_OR_RETURN(std::unique_ptr<AccessLogReader> reader,
                            AccessLogReader::Open(log_path));
  while (true) {
    SHADOWFS_ASSIGN_OR_RETURN(bool more, reader->Next(&event));
    if (!more) break;
    SHADOWFS_RETURN_IF_ERROR(replayer.Feed(event));
  }
  return replayer.Finish();
}

}  // namespace shadowfs::predict
