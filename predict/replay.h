// Replay: runs an Engine over a recorded access stream offline, on a FakeClock that follows the
// events' times, for `shadowfs predict eval --log FILE` (how well would the engine have done)
// and `shadowfs predict train --log FILE` (learn from it and save the state to STORE/predict.db).
//
// The simulated world: a sink that accepts every prefetch (up to max_queued at a time) and
// completes it after request_latency + length / transfer rate, into a simulated store of
// store_capacity_bytes that evicts the oldest prefetched ranges first; a read is "from a shadow"
// when a completed prefetch still in that store covers it. The simulated primary's namespace
// (for the experts that list directories: sibling order, epoch) is every object the stream names,
// known from the start: a listing shows files before they are read, though not files the stream
// never reads. Time advances to each event; the
// engine ticks every second (every minute through long idle gaps, but every second within a
// horizon of any event). Finish lets the horizon pass so that every outcome is final.
//
// Not thread-safe: one thread drives a Replayer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "blobstore/base/clock.h"
#include "blobstore/base/logging.h"
#include "blobstore/base/metrics.h"
#include "blobstore/base/result.h"
#include "predict/access_event.h"
#include "predict/engine.h"

namespace shadowfs::predict {

struct ReplayOptions {
  // The engine's options. state_path: the state to start from and to save at Finish (train);
  // empty to start fresh and save nothing (eval).
  EngineOptions engine;
  std::chrono::milliseconds request_latency{20};
  double transfer_bytes_per_second = 100e6;
  uint64_t store_capacity_bytes = 10ull << 30;
  size_t max_queued = 1024;  // prefetches not yet complete; the sink refuses more
  // The store keeps what demand reads fetched (the mount's read-through), and the sink refuses
  // prefetches of ranges the store holds, as the Materializer does. Off: every prefetch is
  // accepted and only prefetches fill the store (the prediction mechanism alone).
  bool read_through = true;
  // The experts may list directories of the simulated namespace. Off: they see no namespace.
  bool list_directories = true;
};

class Replayer {
 public:
  // `experts`: the models to run (StandardExperts(options.engine) for the engine's own).
  Replayer(ReplayOptions options, Engine::ExpertFactory experts);
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  // What the simulated primary knows of an object: its size, for prefetches "to the end" of an
  // object the engine has not seen read yet, and its place in the namespace (by default, objects
  // come from the events so far).
  void NoteObject(const std::string& key, uint64_t size, std::string_view etag = "");
  // One event, in time order (an event earlier than the previous one is taken as simultaneous).
  // Its from_shadow is replaced by what the simulated store holds.
  base::Status Feed(AccessEvent event);
  // Lets the horizon pass, saves the state if options.engine.state_path is set, and returns the
  // accounting. Feed may not be called afterwards.
  base::Result<Accounting> Finish();
  // The engine (null before the first event), e.g. for Top after a replay.
  Engine* engine();

 private:
  class Primary;
  class Sim;
  void AdvanceTo(base::WallTime t);

  ReplayOptions options_;
  Engine::ExpertFactory experts_;
  std::unique_ptr<base::FakeClock> clock_;
  std::unique_ptr<base::Logger> logger_;
  base::MetricsRegistry metrics_;
  std::unique_ptr<Primary> primary_;  // from the start: objects may be noted before any event
  std::unique_ptr<Sim> sim_;
  std::unique_ptr<Engine> engine_;
  base::WallTime next_tick_{};
  base::WallTime last_event_{};
  bool finished_ = false;
};

// Replays the access log at `log_path` (predict/access_log.h); a malformed line stops it with
// the line's Status. The log is read twice: first for the objects' sizes (the simulated primary
// knows them), then to replay it.
base::Result<Accounting> ReplayAccessLog(const std::string& log_path, const ReplayOptions& options,
                                         Engine::ExpertFactory experts);

}  // namespace shadowfs::predict
