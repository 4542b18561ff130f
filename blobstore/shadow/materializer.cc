#include "blobstore/shadow/materializer.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <utility>

#include "blobstore/base/executor.h"
#include "blobstore/base/logging.h"
#include "blobstore/byte_io.h"

namespace shadowfs::shadow {

using base::Status;

// Lock order: mu_ is a leaf with respect to the store (never held while calling the store or
// the primary).
struct Materializer::Impl {
  Impl(blobstore::BlobStore* primary, ShadowStore* store, MaterializerOptions options,
       base::Runtime runtime)
      : primary(primary), store(store), options(options), runtime(runtime) {
    tokens = static_cast<double>(options.burst_bytes);
    last_refill = runtime.clock->Monotonic();
  }

  // `stored` (may be null) receives the bytes fetched and stored.
  // `stored`: the bytes stored; `stored_from`: where they begin (the chunk the range starts in).
  Status Run(const MaterializeRequest& request, uint64_t* stored = nullptr,
             uint64_t* stored_from = nullptr);
  // Waits for `n` bytes of bandwidth (token bucket on the Runtime clock) and room in flight.
  void Acquire(uint64_t n) EXCLUDES(mu_);
  void Release(uint64_t n) EXCLUDES(mu_);
  bool AlreadyPresent(const MaterializeRequest& request) const;
  // Holds `key` in `fetching` from construction until End (or destruction).
  class Fetching {
   public:
    Fetching(Impl* impl, const std::string& key) : impl_(impl), key_(key) {
      base::MutexLock lock(&impl_->mu_);
      ++impl_->fetching[key_];
      impl_->fetching_any.store(true, std::memory_order_relaxed);
    }
    ~Fetching() { End(); }
    Fetching(const Fetching&) = delete;
    Fetching& operator=(const Fetching&) = delete;
    void End() {
      if (std::exchange(ended_, true)) return;
      base::MutexLock lock(&impl_->mu_);
      if (auto it = impl_->fetching.find(key_); it != impl_->fetching.end() && --it->second == 0) {
        impl_->fetching.erase(it);
        impl_->fetching_any.store(!impl_->fetching.empty(), std::memory_order_relaxed);
      }
      impl_->cv_.SignalAll();
    }

   private:
    Impl* const impl_;
    const std::string& key_;
    bool ended_ = false;
  };
  void Count(const Status& s) EXCLUDES(mu_);

  blobstore::BlobStore* const primary;
  ShadowStore* const store;
  const MaterializerOptions options;
  const base::Runtime runtime;
  std::atomic<base::PrefetchListener*> listener{nullptr};
  VersionObserver version_observer;  // set before the first request, then only read

  mutable base::Mutex mu_;
  base::CondVar cv_;  // in-flight bytes released, or a task finished
  double tokens GUARDED_BY(mu_) = 0;
  base::MonoTime last_refill GUARDED_BY(mu_);
  uint64_t in_flight GUARDED_BY(mu_) = 0;
  size_t pending GUARDED_BY(mu_) = 0;  // queued or running
  // Keys with a GET under way whose first answer is not stored yet (AwaitFetch), with the
  // number of such GETs of each.
  std::map<std::string, int, std::less<>> fetching GUARDED_BY(mu_);
  // !fetching.empty(), read without mu_: a read that misses its shadow while no prefetch is
  // under way (a cold sequential read, prediction off) asks AwaitFetch without taking the lock.
  std::atomic<bool> fetching_any{false};
  bool stopping GUARDED_BY(mu_) = false;
  Stats stats GUARDED_BY(mu_);

  // Last member: destroyed (joined) first, while the state its tasks use is alive.
  std::unique_ptr<base::ThreadPool> pool;
};

void Materializer::Impl::Acquire(uint64_t n) {
  base::MutexLock lock(&mu_);
  while (in_flight > 0 && in_flight + n > options.max_bytes_in_flight) cv_.Wait(&mu_);
  in_flight += n;
  if (options.bandwidth_bytes_per_second == 0) return;
  const double rate = static_cast<double>(options.bandwidth_bytes_per_second);
  const double burst = static_cast<double>(std::max<uint64_t>(options.burst_bytes, 1));
  // A request larger than the burst waits for a full bucket and then goes into debt, which
  // later requests repay.
  const double want = std::min(static_cast<double>(n), burst);
  for (;;) {
    base::MonoTime now = runtime.clock->Monotonic();
    tokens =
        std::min(burst, tokens + rate * std::chrono::duration<double>(now - last_refill).count());
    last_refill = now;
    if (tokens >= want) {
      tokens -= static_cast<double>(n);
      return;
    }
    auto wait = std::chrono::duration<double>((want - tokens) / rate);
    // Sleep without the lock; with a FakeClock the sleep advances time at once.
    mu_.Unlock();
    runtime.clock->SleepFor(std::chrono::duration_cast<std::chrono::nanoseconds>(wait) +
                            std::chrono::nanoseconds(1));
    mu_.Lock();
  }
}

void Materializer::Impl::Release(uint64_t n) {
  base::MutexLock lock(&mu_);
  in_flight -= n;
  cv_.SignalAll();
}

bool Materializer::Impl::AlreadyPresent(const MaterializeRequest& r) const {
  return !r.expected_etag.empty() && store->Holds(r.key, r.expected_etag, r.offset, r.length);
}

Status Materializer::Impl::Run(const MaterializeRequest& r, uint64_t* stored,
                               uint64_t* stored_from) {
  std::string etag = r.expected_etag;
  if (etag.empty()) {
    SHADOWFS_ASSIGN_OR_RETURN(blobstore::ObjectInfo head, primary->Head(r.key));
    etag = head.etag;
  }
  if (store->Holds(r.key, etag, r.offset, r.length)) return Status::Ok();
  // From the first GET's sending until its answer is stored (and its version told), a lookup or
  // read of the key waits for it (AwaitFetch); not while the request waits for bandwidth.
  std::optional<Fetching> fetching_key;
  const uint64_t chunk = store->FillChunkSize(r.key, etag, r.offset);
  uint64_t begin = r.offset / chunk * chunk;
  if (stored_from) *stored_from = begin;
  // Pieces of at most the burst (whole chunks), so that the bucket is never far in debt and a
  // failure loses one piece.
  const uint64_t piece = std::max<uint64_t>(
      chunk, std::min<uint64_t>(options.burst_bytes, 8ull << 20) / chunk * chunk);
  std::optional<uint64_t> end;  // exclusive, chunk-aligned; unknown until the first response
  if (r.length > 0) end = (r.offset + r.length + chunk - 1) / chunk * chunk;
  while (!end || begin < *end) {
    uint64_t len = end ? std::min(piece, *end - begin) : piece;
    blobstore::GetOptions get;
    get.range = blobstore::ByteRange::Span(begin, len);
    get.conditions.if_match = etag;
    blobstore::StringSink sink;
    Acquire(len);
    if (!fetching_key) fetching_key.emplace(this, r.key);
    auto got = primary->Get(r.key, get, sink);
    Release(len);
    if (!got.ok()) {
      if (got.status().IsConflict() || got.status().IsNotFound()) {
        Status drop = store->Drop(r.key);
        if (!drop.ok()) return drop;
      }
      return got.status();
    }
    std::string data = sink.Take();
    {
      base::MutexLock lock(&mu_);
      stats.bytes_fetched += data.size();
    }
    const uint64_t size = got->info.size;
    if (begin >= size && size > 0) break;
    if (data.size() != got->length || got->offset != begin) {
      return Status::Corruption("primary returned bytes [" + std::to_string(got->offset) + ", +" +
                                std::to_string(got->length) + ") of '" + r.key +
                                "' for a request of [" + std::to_string(begin) + ", +" +
                                std::to_string(len) + ")");
    }
    if (!end) end = size;
    *end = std::min(*end, size);
    SHADOWFS_RETURN_IF_ERROR(store->Fill(r.key, etag, size, begin, data, r.fill));
    if (version_observer && begin == r.offset / chunk * chunk) {
      got->info.key = r.key;
      version_observer(got->info);
    }
    fetching_key->End();
    if (stored) *stored += data.size();
    begin += data.size();
    if (data.empty()) break;
  }
  return Status::Ok();
}

void Materializer::Impl::Count(const Status& s) {
  base::MutexLock lock(&mu_);
  if (s.ok()) {
    ++stats.completed;
  } else if (s.IsConflict()) {
    ++stats.conflicts;
  } else {
    ++stats.failed;
  }
}

Materializer::Materializer(blobstore::BlobStore* primary, ShadowStore* store,
                           MaterializerOptions options, base::Runtime runtime)
    : impl_(std::make_unique<Impl>(primary, store, options, runtime)) {
  // Our own bound decides refusals; the pool's queue is big enough never to block Submit.
  impl_->pool = std::make_unique<base::ThreadPool>(
      "materialize", std::max(1, options.max_concurrent), options.max_queued + 1);
}

Materializer::~Materializer() {
  {
    base::MutexLock lock(&impl_->mu_);
    impl_->stopping = true;
  }
  impl_->pool.reset();  // queued tasks see `stopping` and return; running ones finish
}

Status Materializer::Materialize(const MaterializeRequest& request) {
  Status s = impl_->Run(request);
  impl_->Count(s);
  return s;
}

bool Materializer::Submit(MaterializeRequest request) {
  Impl& d = *impl_;
  bool present = d.AlreadyPresent(request);
  {
    base::MutexLock lock(&d.mu_);
    if (present || d.stopping || d.pending >= d.options.max_queued) {
      ++d.stats.refused;
      return false;
    }
    ++d.pending;
  }
  d.pool->Submit([&d, request = std::move(request)] {
    bool stopping;
    {
      base::MutexLock lock(&d.mu_);
      stopping = d.stopping;
    }
    if (!stopping) {
      uint64_t stored = 0;
      uint64_t stored_from = base::PrefetchResult::kAtOffset;
      Status s = d.Run(request, &stored, &stored_from);
      if (!s.ok()) {
        base::LogStream(*d.runtime.logger, base::LogLevel::kDebug)
            << "materialize '" << request.key << "': " << s.ToString();
      }
      d.Count(s);
      base::PrefetchListener* listener = d.listener.load(std::memory_order_acquire);
      if (listener && request.fill.origin == Origin::kPrefetch) {
        listener->OnPrefetchDone({.key = request.key,
                                  .offset = request.offset,
                                  .length = s.ok() ? stored : 0,
                                  .ok = s.ok(),
                                  .finished = d.runtime.clock->Now(),
                                  .no_space = s.code() == base::StatusCode::kNoSpace,
                                  .stored_offset = stored_from});
      }
    }
    base::MutexLock lock(&d.mu_);
    --d.pending;
    d.cv_.SignalAll();
  });
  return true;
}

bool Materializer::Offer(base::PrefetchRequest request) {
  MaterializeRequest r;
  r.key = std::move(request.key);
  r.offset = request.offset;
  r.length = request.length;
  r.expected_etag = std::move(request.expected_etag);
  r.fill.origin = Origin::kPrefetch;
  r.fill.probability = request.probability;
  return Submit(std::move(r));
}

bool Materializer::AwaitFetch(std::string_view key, std::chrono::nanoseconds max_wait) {
  Impl& d = *impl_;
  if (!d.fetching_any.load(std::memory_order_relaxed)) return false;
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  base::MutexLock lock(&d.mu_);
  if (!d.fetching.contains(key)) return false;
  ++d.stats.awaited;
  while (d.fetching.contains(key)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    d.cv_.WaitFor(&d.mu_, deadline - now);
  }
  return true;
}

void Materializer::SetPrefetchListener(base::PrefetchListener* listener) {
  impl_->listener.store(listener, std::memory_order_release);
}

void Materializer::SetVersionObserver(VersionObserver observer) {
  impl_->version_observer = std::move(observer);
}

void Materializer::Drain() {
  base::MutexLock lock(&impl_->mu_);
  while (impl_->pending > 0) impl_->cv_.Wait(&impl_->mu_);
}

Materializer::Stats Materializer::stats() const {
  base::MutexLock lock(&impl_->mu_);
  return impl_->stats;
}

}  // namespace shadowfs::shadow
