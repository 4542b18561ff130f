// EpochExpert: sets read over and over in any order (shuffled ML epochs). Per directory it tracks
// passes: a pass ends once at least `complete_fraction` of the members were read and a member is
// read again. It proposes the members not yet read in the current pass, a bounded number ahead of
// the reader (`ahead` proposed but unread at a time, at most `max_candidates` per call): after
// one full pass, and already in the first once it looks like a set being read through (a set in
// progress: a quarter of the members read, at least 8 and at most `first_pass_min_reads`, and
// few read twice; a data set's first epoch, a build's first compile). Score is its estimate that
// an unread member is read within the horizon: the pass's read rate against what is left, times
// a confidence that grows with the passes seen (in the first pass, with the members read so far:
// k / (k + 2), at most 0.95: a cold engine prefetches at p >= 0.8, which a quarter of a
// 40-member directory then reaches). Members
// proposed at a lower score are proposed again once it has grown by 0.05; in a first pass only
// members of at most one window (1 MiB) are proposed. A directory whose members are opened at
// their tails (experts::ReadShape: Parquet or ORC footers) has their tails proposed instead, in
// any pass: which other bytes such a reader wants is not known. Members come from
// NamespaceView::ListDirectory, asked when a directory starts being read intensely
// (`min_opens_to_track` opens within `track_window`) and again when a pass ends (files come and go
// between epochs); without a NamespaceView it stays quiet.
//
// Bounds: `max_dirs` directories (least recently read replaced), `max_members` members each;
// about 4.25 bytes per member. Saves each directory's passes and what its current pass read.
// Not thread-safe (predict/expert.h).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "predict/expert.h"
#include "predict/experts/assoc_table.h"
#include "predict/experts/expert_util.h"
#include "predict/experts/read_shape.h"
#include "predict/key_table.h"
#include "predict/namespace_view.h"

namespace shadowfs::predict {

class EpochExpert final : public Expert {
 public:
  struct Options {
    double complete_fraction = 0.9;
    size_t ahead = 4096;
    // A first pass is a set in progress once this share of the members was read (at least 8
    // and at most first_pass_min_reads of them).
    double first_pass_share = 0.25;
    uint32_t first_pass_min_reads = 32;
    size_t max_dirs = 256;
    size_t max_members = 16384;
    std::chrono::seconds relist_after{60};  // a failed listing is retried after this
    // A directory is tracked (listed) once it had this many opens within `track_window`: a
    // pass over a set is intense (a build's first compile opens a header of each of its
    // directories every second or so); scattered opens never list anything.
    uint32_t min_opens_to_track = 8;
    std::chrono::seconds track_window{15};
    size_t max_candidate_dirs = 1024;
    double listings_per_second = 4;  // at most, averaged; bursts of 16
    size_t max_candidates = 16;
    // Unread members proposed this long ago are proposed again once all are proposed (or
    // `ahead` is): a proposal the planner or its sink refused (a full queue) is otherwise lost.
    // The planner skips what it has in flight or fetched.
    std::chrono::seconds repropose_after{2};
    std::chrono::seconds horizon{600};
    experts::FileRangeRule range;
  };
  EpochExpert(Options options, KeyTable* keys, NamespaceView* names);

  std::string_view name() const override { return "epoch"; }
  void Observe(const Access& access, std::vector<Candidate>* out) override;
  double Score(KeyId key, base::WallTime now) const override;
  // The time the pass needs for the members it has left, for an unread member it scores.
  std::chrono::seconds Within(KeyId key, base::WallTime now) const override;
  void Forget(const std::vector<KeyId>& ids) override;
  size_t MemoryBytes() const override;
  std::string Save(const std::function<std::string_view(KeyId)>& name_of) const override;
  base::Status Load(std::string_view blob,
                    const std::function<KeyId(std::string_view)>& intern) override;

 private:
  struct Dir {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    std::vector<KeyId> members;  // sorted by id
    std::vector<uint64_t> read;  // bitsets over members: read in the current pass
    std::vector<uint64_t> proposed;
    uint32_t read_count = 0;
    uint32_t repeats = 0;      // members read again within the current pass (before it completed)
    float proposed_score = 0;  // the score when the unread members were last all proposable
    uint32_t proposed_unread = 0;
    uint32_t passes = 0;          // completed passes
    uint32_t cursor = 0;          // where the next proposal scan starts
    int64_t proposing_since = 0;  // when the proposed bits were last cleared
    int64_t pass_start = 0;
    int64_t last_pass_seconds = 0;  // how long the previous pass took
    int64_t listed_at = 0;
    bool listed = false;       // members come from a listing (not only from a loaded state)
    experts::ReadShape shape;  // where members are first read through an open
  };
  static constexpr size_t kHeatKeys = 16;
  struct Heat {  // opens of a directory not tracked yet, kept to count in its first pass
    uint64_t tag = 0;
    uint32_t stamp = 0;
    uint32_t opens = 0;
    int64_t window_start = 0;
    int64_t list_after = 0;  // hot, but its listing was not there yet: asked again from then
    bool asked = false;      // its listing was asked for and is pending
    std::array<KeyId, kHeatKeys> recent{};
  };
  static bool Bit(const std::vector<uint64_t>& bits, size_t i) {
    return (bits[i / 64] >> (i % 64)) & 1;
  }
  static void SetBit(std::vector<uint64_t>* bits, size_t i) { (*bits)[i / 64] |= 1ull << (i % 64); }

  enum class Listing {
    kDone,
    kPending,  // being listed (Unavailable): there soon, asking again costs nothing
    kRefused,  // over the listing budget
    kFailed,
  };
  // Lists `dir` into d->members, keeping the read bits of members still there. `charge`: the
  // ask counts against the listing budget (a listing already asked for does not).
  Listing Relist(Dir* d, std::string_view dir, int64_t now, bool charge = true);
  void StartPass(Dir* d, std::string_view dir, int64_t now);
  void ClearProposed(Dir* d, int64_t now);
  double UnreadScore(const Dir& d, int64_t now) const;
  // The distinct members a first pass reads before it is a set in progress.
  double FirstPassReads(const Dir& d) const;
  // The directory of `key` when it is a member not read in the current pass that may be
  // proposed (Score and Within then ask its pass), else nullptr.
  const Dir* ProposableDir(KeyId key) const;
  // How long the pass needs for the members it has left, at its rate (infinity: no rate yet).
  double SecondsLeft(const Dir& d, int64_t now) const;
  size_t IndexOf(const Dir& d, KeyId key) const;
  // In a first pass only objects of at most one window (range.window) are proposed, or their
  // tails: a set is read through, but which bytes of a large member a reader wants is not known
  // yet unless members are opened at their tails.
  bool ProposableInAFirstPass(const Dir& d, KeyId key) const;

  Options options_;
  KeyTable* keys_;
  NamespaceView* names_;
  experts::AssocTable<Dir> dirs_;
  experts::AssocTable<Heat> heat_;
  experts::ListingBudget budget_;
};

}  // namespace shadowfs::predict
