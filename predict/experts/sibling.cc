#include "predict/experts/sibling.h"

#include <algorithm>
#include <utility>

#include "predict/experts/path_date.h"

namespace shadowfs::predict {
namespace {

constexpr std::string_view kFormat = "shadowfs.predict.sibling";
constexpr uint32_t kVersion = 2;  // 2: the partition runs
// A slower run's pace counts as this (a proposal's expected read is at most `ahead` times it).
constexpr int64_t kMaxPaceMs = 60 * 1000;

}  // namespace

SiblingExpert::SiblingExpert(Options options, KeyTable* keys, NamespaceView* names)
    : options_(options),
      keys_(keys),
      names_(names),
      dirs_(options.max_dirs),
      listings_(options.max_listings),
      partitions_(options.max_partitions),
      budget_(options.listings_per_second, 16) {}

const std::vector<KeyId>* SiblingExpert::Members(std::string_view dir, uint64_t tag,
                                                 base::WallTime now) {
  const int64_t t = experts::UnixSeconds(now);
  bool inserted = false;
  Listing* l = listings_.FindOrInsert(tag, &inserted);
  const bool fresh = !inserted && t - l->listed_at < options_.listing_ttl.count();
  if (fresh && !l->pending) return l->failed ? nullptr : &l->members;
  // A listing asked for and being made in the background is asked after again for free: the
  // budget bounds the listings the primary is asked for, and that one was paid for already.
  if (!fresh) {
    if (!budget_.Take(t)) {
      if (inserted) listings_.Erase(l);
      return nullptr;
    }
    l->listed_at = t;
    ++list_calls_;
  }
  l->members.clear();
  auto listed = names_->ListDirectory(dir, options_.max_members);
  l->pending = !listed.ok() && listed.status().code() == base::StatusCode::kUnavailable;
  // Being listed in the background (NamespaceView never blocks): ask again on a later read.
  if (l->pending) return nullptr;
  l->failed = !listed.ok();
  if (l->failed) return nullptr;
  l->members.reserve(listed->size());
  for (const ObjectInfo& info : *listed) {
    if (experts::DirOf(info.key) != dir)
      continue;  // a misbehaving view: ignore what is not a member
    const KeyId id = keys_->Intern(info.key);
    if (id == kNoKey) continue;  // a name too long to track
    keys_->SetObject(id, info.size, info.etag);
    l->members.push_back(id);
  }
  std::sort(l->members.begin(), l->members.end(), [this](KeyId a, KeyId b) {
    return experts::NaturalLess(keys_->Name(a), keys_->Name(b));
  });
  l->members.shrink_to_fit();
  return &l->members;
}

size_t SiblingExpert::IndexOf(const std::vector<KeyId>& members, std::string_view key) const {
  auto it = std::lower_bound(
      members.begin(), members.end(), key,
      [this](KeyId id, std::string_view k) { return experts::NaturalLess(keys_->Name(id), k); });
  if (it == members.end() || keys_->Name(*it) != key) return members.size();
  return static_cast<size_t>(it - members.begin());
}

void SiblingExpert::Observe(const Access& access, std::vector<Candidate>* out) {
  if (!access.first_read) return;
  const std::string_view dir = experts::DirOf(access.key_name);
  const uint64_t tag = experts::HashBytes(dir);
  Dir* d = dirs_.FindOrInsert(tag);
  const KeyId prev = d->last;
  if (prev == access.key) return;  // reopening the same file says nothing about order
  const int64_t now_ms = experts::UnixMillis(access.time);
  const int64_t since_ms = prev == kNoKey ? 0 : now_ms - d->last_ms;
  d->last = access.key;
  d->last_ms = now_ms;
  if (names_ == nullptr) return;
  if (prev == kNoKey) d->run = d->carried = 0;
  if (prev == kNoKey && continued_.dir == tag &&
      experts::SecondsBetween(continued_.at, access.time) < kContinueWithin) {
    // The first open here follows a run that reached the end of the previous numbered
    // directory: the scan goes on, and so does its run (checked below: the first member).
    d->run = continued_.run + 1;
    continued_ = {};
    Propose(dir, tag, d, kNoKey, access, out);
    return;
  }
  if (prev == kNoKey) {
    StartLikeTheLastPartition(dir, tag, d, access, out);
    return;
  }
  const std::string_view prev_name = keys_->Name(prev);
  // Names that differ in one number are adjacent exactly when it went up by one (a skip is not
  // a run); other ascending pairs count until the listing can check them.
  const std::optional<int64_t> step = experts::NumericStep(prev_name, access.key_name);
  if ((step && *step != 1) || !experts::NaturalLess(prev_name, access.key_name)) {
    d->run = d->carried = 0;
    return;
  }
  ++d->run;
  d->pace_ms = static_cast<uint32_t>(std::clamp<int64_t>(since_ms, 0, kMaxPaceMs));
  RememberPartitionRun(dir, *d);
  if (d->run < options_.min_run) {
    // One pair short of proposing: have the directory listed now (a mount lists in the
    // background), so that the next open of the run finds its members.
    if (d->run + 1 == options_.min_run) Members(dir, tag, access.time);
    return;
  }
  Propose(dir, tag, d, prev, access, out);
}

void SiblingExpert::StartLikeTheLastPartition(std::string_view dir, uint64_t tag, Dir* d,
                                              const Access& access, std::vector<Candidate>* out) {
  const std::optional<PathDate> date = FindPathDate(dir);
  if (!date) return;
  const Partition* last = partitions_.Peek(DateTemplateTag(dir, date));
  if (last == nullptr || last->pairs < options_.min_run) return;
  d->run = d->carried = last->pairs;
  d->pace_ms = last->pace_ms;
  Propose(dir, tag, d, kNoKey, access, out);  // nothing, and no run, unless the first member
}

void SiblingExpert::RememberPartitionRun(std::string_view dir, const Dir& d) {
  const std::optional<PathDate> date = FindPathDate(dir);
  if (!date) return;
  Partition* p = partitions_.FindOrInsert(DateTemplateTag(dir, date));
  p->pairs = d.run - d.carried;
  p->pace_ms = d.pace_ms;
}

void SiblingExpert::Propose(std::string_view dir, uint64_t tag, Dir* d, KeyId prev,
                            const Access& access, std::vector<Candidate>* out) {
  const std::vector<KeyId>* members = Members(dir, tag, access.time);
  if (members == nullptr) {
    if (Listing* l = listings_.Find(tag); l != nullptr && l->pending) {
      l->waiting_key = access.key;  // proposed when the listing arrives (Listed)
      l->waiting_prev = prev;
    }
    return;
  }
  const size_t i = IndexOf(*members, access.key_name);
  // A run goes on only from the member before this one (or, into a new directory, from none:
  // this must be its first member).
  const bool follows =
      prev == kNoKey ? i == 0 : i > 0 && i < members->size() && (*members)[i - 1] == prev;
  if (i == members->size() || !follows) {
    d->run = d->carried = 0;
    return;
  }
  // Laplace's rule of succession on the run, discounted with the distance ahead.
  double score = std::min(0.95, (d->run + 1.0) / (d->run + 2.0));
  const size_t ahead = std::min(options_.ahead, options_.max_candidates);
  size_t proposed = 0;
  auto propose = [&](KeyId next) {
    // Expected when the run, at its pace, gets there.
    const auto expected =
        access.time + std::chrono::milliseconds(static_cast<int64_t>(d->pace_ms) * (proposed + 1));
    out->push_back(experts::FileCandidate(*keys_, next, score, options_.range, expected));
    recent_.Add(next, score, access.time);
    score *= 0.9;
    ++proposed;
  };
  for (size_t j = i + 1; j < members->size() && proposed < ahead; ++j) propose((*members)[j]);
  if (proposed == ahead) return;
  // A scan that reaches the end of a numbered directory goes on in the next one (grep -r and
  // find over mod009/ then mod010/, a job over part-0041/ then part-0042/): its first members
  // fill the rest of `ahead`, and a first open there carries the run on. `members` is not used
  // past this point: listing another directory may move the listings.
  const std::optional<std::string> next_dir = experts::NextNumberedDir(dir);
  // A date-named directory is the periodic model's: tomorrow's partition is not read next.
  if (!next_dir || FindPathDate(experts::BaseOf(dir.substr(0, dir.size() - 1)))) return;
  const uint64_t next_tag = experts::HashBytes(*next_dir);
  if (i + 1 == members->size()) continued_ = {next_tag, d->run, access.time};
  const std::vector<KeyId>* next = Members(*next_dir, next_tag, access.time);
  for (size_t j = 0; next != nullptr && j < next->size() && proposed < ahead; ++j) {
    propose((*next)[j]);
  }
}

void SiblingExpert::Listed(std::string_view dir, base::WallTime now, std::vector<Candidate>* out) {
  const uint64_t tag = experts::HashBytes(dir);
  Listing* l = listings_.Find(tag);
  if (l == nullptr || l->waiting_key == kNoKey) return;
  const KeyId key = std::exchange(l->waiting_key, kNoKey);
  Dir* d = dirs_.Find(tag);
  // An open since then proposed (or waits) for itself.
  if (d == nullptr || d->last != key) return;
  Access access;
  access.key = key;
  access.key_name = keys_->Name(key);
  access.time = now;
  Propose(dir, tag, d, l->waiting_prev, access, out);
}

double SiblingExpert::Score(KeyId key, base::WallTime now) const {
  return recent_.Get(key, now, options_.horizon);
}

void SiblingExpert::Forget(const std::vector<KeyId>& ids) {
  const experts::IdSet set(ids);
  dirs_.ForEach([&](Dir& d) {
    if (d.last != kNoKey && set.contains(d.last)) {
      d.last = kNoKey;
      d.run = 0;
    }
  });
  listings_.ForEach([&](Listing& l) {
    if (std::any_of(l.members.begin(), l.members.end(),
                    [&](KeyId id) { return set.contains(id); })) {
      listings_.Erase(&l);
    }
  });
  recent_.Forget(set);
}

size_t SiblingExpert::MemoryBytes() const {
  size_t bytes =
      sizeof(*this) + dirs_.MemoryBytes() + listings_.MemoryBytes() + partitions_.MemoryBytes();
  listings_.ForEach([&](const Listing& l) { bytes += l.members.capacity() * sizeof(KeyId); });
  return bytes;
}

std::string SiblingExpert::Save(const std::function<std::string_view(KeyId)>& name_of) const {
  (void)name_of;
  // Only the partition runs: they are a night old when they are used. The tags are hashes of
  // names (experts::HashBytes, fixed), so they mean the same after a restart.
  experts::BlobWriter w(kFormat, kVersion);
  w.PutVar(partitions_.size());
  partitions_.ForEach([&](const Partition& p) {
    w.PutVar(p.tag);
    w.PutVar(p.pairs);
    w.PutVar(p.pace_ms);
  });
  return std::move(w).Finish();
}

base::Status SiblingExpert::Load(std::string_view blob,
                                 const std::function<KeyId(std::string_view)>& intern) {
  (void)intern;
  dirs_.Clear();
  listings_.Clear();
  partitions_.Clear();
  recent_ = {};
  experts::BlobReader r(blob);
  if (base::Status st = r.ReadHeader(kFormat, kVersion); !st.ok()) {
    // Version 1 held nothing but its header: a state saved before partition runs loads empty.
    experts::BlobReader v1(blob);
    if (v1.ReadHeader(kFormat, 1).ok() && v1.Finish(kFormat).ok()) return base::Status::Ok();
    return st;
  }
  const uint64_t n = r.GetCount(3);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const uint64_t tag = r.GetVar();
    const uint64_t pairs = r.GetVar();
    const uint64_t pace_ms = r.GetVar();
    Partition* p = partitions_.FindOrInsert(tag);
    p->pairs = static_cast<uint32_t>(std::min<uint64_t>(pairs, UINT32_MAX));
    p->pace_ms = static_cast<uint32_t>(std::min<uint64_t>(pace_ms, kMaxPaceMs));
  }
  base::Status status = r.Finish(kFormat);
  if (!status.ok()) partitions_.Clear();
  return status;
}

}  // namespace shadowfs::predict
