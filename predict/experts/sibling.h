// SiblingExpert: directory order. After opens of consecutive members of a directory in natural
// order (`part-00006` then `part-00007`; digit runs compare as numbers), it proposes the next few
// members, with scores that grow with the length of the run and shrink with the distance ahead.
// Names that differ from the previous open in one number are adjacent when it went up by one,
// without a listing; other ascending pairs are checked against the directory's members. Members
// come from NamespaceView::ListDirectory, asked only once a run is long enough to propose (and at
// most `listings_per_second`), and cached per directory (at most `max_listings`, each for
// `listing_ttl`, at most `max_members` members). Listed members are interned in the KeyTable with
// their size and ETag (SetObject) so the planner can use them. Without a NamespaceView it stays
// quiet.
//
// A run that reaches the last member of a numbered directory goes on into the next one
// (`mod009/` then `mod010/`, NextNumberedDir): its first members fill the rest of `ahead`, and an
// open of the first member there (within a minute) carries the run on, so a recursive scan is
// proposed at full confidence from each directory's first file.
//
// A job that reads a date-named partition (`date=2026-11-22/`) in order reads the next one in
// order too: the run over the last partition of the same template (dates masked) carries over to
// the first open of the next, which proposes its members at once, at the confidence of the run
// it carries (up to `max_partitions` templates remembered).
//
// A proposal carries when its read is expected: the run's pace (the time between its last two
// opens) times the distance ahead, so that a job that opens a file a minute has its predictions
// of the files three and six minutes ahead judged then, not as misses after a minute or two.
// The listing is asked for one pair before the run is long enough to propose, so that on a
// mount, which lists in the background, it is there when the next open proposes; a proposal
// that still finds it being made is made when it arrives (Listed), if no open came since.
//
// Save persists the partition runs; the rest of its state (the last open per directory, cached
// listings) rebuilds in seconds. Not thread-safe (predict/expert.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "predict/expert.h"
#include "predict/experts/assoc_table.h"
#include "predict/experts/expert_util.h"
#include "predict/key_table.h"
#include "predict/namespace_view.h"

namespace shadowfs::predict {

class SiblingExpert final : public Expert {
 public:
  struct Options {
    size_t ahead = 8;  // members proposed past the one just opened
    // Consecutive pairs needed before proposing: one pair happens by chance in a random scan.
    uint32_t min_run = 2;
    size_t max_dirs = 4096;
    size_t max_listings = 64;
    size_t max_partitions = 1024;
    size_t max_members = 16384;
    std::chrono::seconds listing_ttl{60};
    double listings_per_second = 4;  // at most, averaged; bursts of 16
    size_t max_candidates = 16;
    std::chrono::seconds horizon{600};
    experts::FileRangeRule range;
  };
  SiblingExpert(Options options, KeyTable* keys, NamespaceView* names);

  std::string_view name() const override { return "sibling"; }
  void Observe(const Access& access, std::vector<Candidate>* out) override;
  void Listed(std::string_view dir, base::WallTime now, std::vector<Candidate>* out) override;
  double Score(KeyId key, base::WallTime now) const override;
  void Forget(const std::vector<KeyId>& ids) override;
  size_t MemoryBytes() const override;
  std::string Save(const std::function<std::string_view(KeyId)>& name_of) const override;
  base::Status Load(std::string_view blob,
                    const std::function<KeyId(std::string_view)>& intern) override;

  size_t list_calls() const { return list_calls_; }

 private:
  struct Dir {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    KeyId last = kNoKey;
    uint32_t run = 0;      // consecutive pairs of opens in natural order
    uint32_t pace_ms = 0;  // the run's time from one open to the next (the last pair's)
    uint32_t carried = 0;  // pairs of `run` carried over from the previous partition
    int64_t last_ms = 0;   // when `last` was opened, in Unix milliseconds
  };
  // The last run over a date-named partition of a template (`etl/date=*/`): its pairs and pace.
  struct Partition {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    uint32_t pairs = 0;
    uint32_t pace_ms = 0;
  };
  struct Listing {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    int64_t listed_at = 0;  // when the listing was asked for
    bool pending = false;   // the view is still listing it (Unavailable)
    bool failed = false;
    // A proposal after `waiting_key` (opened after `waiting_prev`) waits for this listing.
    KeyId waiting_key = kNoKey;
    KeyId waiting_prev = kNoKey;
    std::vector<KeyId> members;  // natural order
  };
  // The run that reached the last member of a numbered directory, waiting for the first open of
  // the next one (NextNumberedDir) to carry it on.
  struct Continuation {
    uint64_t dir = 0;  // tag of the next directory; 0: none
    uint32_t run = 0;
    base::WallTime at{};
  };
  static constexpr double kContinueWithin = 60;  // seconds

  // Proposes the members after access.key in `dir` (whose record is d) and, at its end, the first
  // members of the next numbered directory. `prev` is the member opened before (kNoKey: the run
  // came from the previous directory, so access.key must be this one's first member).
  void Propose(std::string_view dir, uint64_t tag, Dir* d, KeyId prev, const Access& access,
               std::vector<Candidate>* out);
  // A first open in a date-named partition whose template's last partition was read in a run:
  // that run's pairs carry over and the rest is proposed, if access.key is the first member.
  void StartLikeTheLastPartition(std::string_view dir, uint64_t tag, Dir* d, const Access& access,
                                 std::vector<Candidate>* out);
  // Records d's run (its own pairs) as its template's, if `dir` is date-named.
  void RememberPartitionRun(std::string_view dir, const Dir& d);
  const std::vector<KeyId>* Members(std::string_view dir, uint64_t tag, base::WallTime now);
  // The index of `key` in `members`, or members.size().
  size_t IndexOf(const std::vector<KeyId>& members, std::string_view key) const;

  Options options_;
  KeyTable* keys_;
  NamespaceView* names_;
  experts::AssocTable<Dir> dirs_;
  experts::AssocTable<Listing> listings_;
  experts::AssocTable<Partition> partitions_;
  experts::RecentScores recent_;
  Continuation continued_;
  experts::ListingBudget budget_;
  size_t list_calls_ = 0;
};

}  // namespace shadowfs::predict
