// The glue between a mount and its prediction engine (predict/engine.h), which may not know
// about the primary, the shadow store or the filesystem:
//   PrimaryNamespace  the engine's NamespaceView: directory listings of the primary, cached and
//                     fetched in the background
//   ShadowStoreView   the engine's StoreView: the store's capacity and fill, for the backoff
//   PredictionLoop    the mount's event thread: drains the read path's EventRing into the
//                     engine (and the access log, when asked) and ticks the engine each second
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "blobstore/base/metrics.h"
#include "blobstore/base/mutex.h"
#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/shadow/shadow_store.h"
#include "predict/engine.h"
#include "predict/event_ring.h"
#include "predict/namespace_view.h"

#include <nlohmann/json.hpp>

namespace shadowfs::cli {

// Listings of the primary's directories for the engine. Never blocks on the network: the engine
// calls it with its own lock held, and the store's eviction asks the engine for scores, so a
// List request here would stall reads. A directory not listed yet answers Unavailable ("ask
// again soon") and is listed on a background thread; a listing is served for `ttl`, and served
// stale while a refresh runs, up to `max_dirs` directories (least recently used out). A failed
// listing is not retried for `retry_after`. Thread-safe.
class PrimaryNamespace final : public predict::NamespaceView {
 public:
  PrimaryNamespace(blobstore::BlobStore* primary, base::Clock* clock,
                   std::chrono::seconds ttl = std::chrono::seconds(30), size_t max_dirs = 256,
                   std::chrono::seconds retry_after = std::chrono::seconds(5));
  ~PrimaryNamespace() override;  // joins the listing thread
  PrimaryNamespace(const PrimaryNamespace&) = delete;
  PrimaryNamespace& operator=(const PrimaryNamespace&) = delete;

  base::Result<std::vector<predict::ObjectInfo>> ListDirectory(std::string_view dir,
                                                               size_t limit) override;
  // Called (on the listing thread, no lock held) after each listing with the directory, whether
  // it has a marker ("dir/" object) and when the listing was sent; the mount hands it to the
  // filesystem (FileSystem::LearnDirectory). Set it before the engine asks for listings.
  using ListingObserver =
      std::function<void(const std::string& dir, bool has_marker, base::MonoTime listed_at)>;
  void SetListingObserver(ListingObserver observer);
  uint64_t requests() const;  // List requests sent (tests)
  void WaitIdle();            // until no listing is queued or running (tests)

 private:
  struct Listing {
    std::vector<predict::ObjectInfo> objects;
    size_t limit = 0;  // the listing holds every member, or the first `limit`
    base::MonoTime fetched{};
    std::list<std::string>::iterator lru;
  };
  struct Job {
    std::string dir;
    size_t limit = 0;
  };
  void Run();
  void Schedule(std::string_view dir, size_t limit) REQUIRES(mu_);
  struct Fetched {
    std::vector<predict::ObjectInfo> objects;
    bool has_marker = false;
  };
  base::Result<Fetched> Fetch(const Job& job);

  blobstore::BlobStore* const primary_;
  base::Clock* const clock_;
  const std::chrono::seconds ttl_;
  const size_t max_dirs_;
  const std::chrono::seconds retry_after_;
  mutable base::Mutex mu_;
  base::CondVar cv_;
  std::map<std::string, Listing, std::less<>> cache_ GUARDED_BY(mu_);
  std::list<std::string> lru_ GUARDED_BY(mu_);  // most recent first
  std::map<std::string, base::MonoTime, std::less<>> failed_ GUARDED_BY(mu_);
  std::deque<Job> queue_ GUARDED_BY(mu_);
  std::set<std::string, std::less<>> queued_ GUARDED_BY(mu_);  // queued or running
  ListingObserver observer_ GUARDED_BY(mu_);
  uint64_t requests_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

class ShadowStoreView final : public predict::StoreView {
 public:
  explicit ShadowStoreView(const shadow::ShadowStore* store) : store_(store) {}
  uint64_t used_bytes() const override { return store_->used_bytes(); }
  uint64_t capacity_bytes() const override { return store_->capacity_bytes(); }

 private:
  const shadow::ShadowStore* const store_;
};

// The prediction engine's answers for the control socket: its accounting (for `shadowfs stats`)
// and its top predictions (`shadowfs predict show`), as JSON.
nlohmann::json AccountingJson(const predict::Accounting& accounting);
nlohmann::json PredictionsJson(const std::vector<predict::Prediction>& predictions);

// Registers `predict.show` (args: path or key, limit) on a mount's control socket service.
class OpsService;
void RegisterPredictOps(OpsService& service, predict::Engine* engine);

// A named thread that drains `ring` into the engine (may be null: events are only counted) and
// into `also` (may be empty: the access log): every millisecond while events come, and when
// idle as soon as an event wakes it (EventRing::WaitForEvents); ticks the engine once a second.
// Joined (after a last drain and tick) by the destructor.
class PredictionLoop {
 public:
  PredictionLoop(predict::EventRing* ring, predict::Engine* engine,
                 std::function<void(const predict::AccessEvent&)> also, base::Runtime runtime);
  ~PredictionLoop();
  PredictionLoop(const PredictionLoop&) = delete;
  PredictionLoop& operator=(const PredictionLoop&) = delete;

 private:
  void Run();
  size_t DrainOnce();  // the events taken

  predict::EventRing* const ring_;
  predict::Engine* const engine_;
  const std::function<void(const predict::AccessEvent&)> also_;
  const base::Runtime runtime_;
  base::Counter& events_;
  base::Counter& dropped_;
  uint64_t dropped_seen_ = 0;  // the loop thread's own
  base::Mutex mu_;
  base::CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace shadowfs::cli
