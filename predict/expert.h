// Expert: one online model of the access stream (DESIGN.md section 6). Each expert learns from
// every read, proposes candidate byte ranges right after a read (and, for time-driven models, on
// a periodic tick), and scores any key on demand; the learner (predict/learner.h) combines the
// experts' scores into a calibrated probability, and the planner decides what to prefetch.
//
// The experts (predict/experts/*.h), each bounded in memory:
//   sequential   intra-file stream: the next window of a file being read sequentially (adaptive
//                window); only this expert fires on a scan, nothing cross-file
//   successor    multi-order (1-3) context model over opens, per process name
//   sibling      directory order: part-00007 after part-00006 (lexical/numeric)
//   epoch        after one full pass over a directory, the not-yet-read members of the current
//                pass, in any order (shuffled epochs)
//   recency      decayed recency/frequency
//   periodic     time-of-day/week periodicity per prefix; a date in a path advanced by the period
//   change_rate  version changes per key: a refresh right after a predicted change
//
// Not thread-safe: an engine owns its experts and calls them from its one thread, in time order.
// Time comes from the Access (or Tick's argument), never from a clock, so tests are deterministic.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/status.h"
#include "predict/types.h"

namespace shadowfs::predict {

class Expert {
 public:
  virtual ~Expert() = default;
  Expert() = default;
  Expert(const Expert&) = delete;
  Expert& operator=(const Expert&) = delete;

  // A stable, short, snake_case name: metrics labels, persisted state and the CLI use it.
  virtual std::string_view name() const = 0;

  // Learns from one read; then appends what it expects next to `out` (possibly nothing).
  virtual void Observe(const Access& access, std::vector<Candidate>* out) = 0;

  // Time-driven proposals (a nightly job's partition at its hour; a refresh after a predicted
  // change). Called about once a second; most experts propose nothing.
  virtual void Tick(base::WallTime now, std::vector<Candidate>* out) {
    (void)now;
    (void)out;
  }

  // The listing of `dir` (NamespaceView) that was being made in the background has arrived:
  // propose what waited for it, now rather than at the directory's next read, which may be a
  // round trip away. Most experts propose nothing.
  virtual void Listed(std::string_view dir, base::WallTime now, std::vector<Candidate>* out) {
    (void)dir;
    (void)now;
    (void)out;
  }

  // This expert's score in [0, 1] that `key` is read within the horizon from `now` (0 when it
  // knows nothing). A feature for the learner and for eviction; must be cheap (no allocation).
  virtual double Score(KeyId key, base::WallTime now) const = 0;

  // How long after `now` a read of `key` it scores may still come, when it knows (a shuffled
  // pass: the time the pass needs for the members it has left); zero: it does not know. A
  // prediction of `key`, whoever proposed it, waits at least this long for its label: with a
  // shorter window, the labels of another expert's proposals (a successor's guess) would teach
  // the learner that this expert's score means "not read" when it means "read later".
  virtual std::chrono::seconds Within(KeyId key, base::WallTime now) const {
    (void)key;
    (void)now;
    return {};
  }

  // The ids are about to be reused for other keys: drop every piece of state about them.
  virtual void Forget(const std::vector<KeyId>& ids) = 0;

  // Bytes of state held (an estimate that counts containers' capacity), for the memory budget.
  virtual size_t MemoryBytes() const = 0;

  // Persistence as a self-describing, versioned binary blob whose keys are names, not ids (ids
  // differ between runs): `name_of` and `intern` translate. Load of a blob it cannot parse
  // returns Corruption and leaves the expert empty (the engine then starts this expert afresh).
  virtual std::string Save(const std::function<std::string_view(KeyId)>& name_of) const = 0;
  virtual base::Status Load(std::string_view blob,
                            const std::function<KeyId(std::string_view)>& intern) = 0;
};

}  // namespace shadowfs::predict
