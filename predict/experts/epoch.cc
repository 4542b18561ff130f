#include "predict/experts/epoch.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace shadowfs::predict {
namespace {

constexpr std::string_view kFormat = "shadowfs.predict.epoch";
constexpr uint32_t kVersion = 2;  // 2: the members' read shape (tails)
constexpr uint64_t kSeed = 0xe90c;
constexpr double kFirstPassEvidence = 2;  // members read for a confidence of 1/2
constexpr double kFirstPassFloor = 8;     // members read before a first pass is a set at all
constexpr double kReproposeGain = 0.05;   // score gained since the last proposals

size_t Words(size_t n) { return (n + 63) / 64; }

}  // namespace

EpochExpert::EpochExpert(Options options, KeyTable* keys, NamespaceView* names)
    : options_(options),
      keys_(keys),
      names_(names),
      dirs_(options.max_dirs),
      heat_(options.max_candidate_dirs),
      budget_(options.listings_per_second, 16) {}

size_t EpochExpert::IndexOf(const Dir& d, KeyId key) const {
  auto it = std::lower_bound(d.members.begin(), d.members.end(), key);
  if (it == d.members.end() || *it != key) return d.members.size();
  return static_cast<size_t>(it - d.members.begin());
}

EpochExpert::Listing EpochExpert::Relist(Dir* d, std::string_view dir, int64_t now, bool charge) {
  d->listed_at = now;
  if (names_ == nullptr) return Listing::kFailed;
  // Over the listing budget, or Unavailable (being listed in the background): ask again in a
  // second, not after relist_after.
  const int64_t soon = now - options_.relist_after.count() + 1;
  if (charge && !budget_.Take(now)) {
    d->listed_at = soon;
    return Listing::kRefused;
  }
  auto listed = names_->ListDirectory(dir, options_.max_members);
  if (!listed.ok()) {
    if (listed.status().code() != base::StatusCode::kUnavailable) return Listing::kFailed;
    d->listed_at = soon;
    return Listing::kPending;
  }
  std::vector<KeyId> members;
  members.reserve(listed->size());
  for (const ObjectInfo& info : *listed) {
    if (experts::DirOf(info.key) != dir) continue;
    const KeyId id = keys_->Intern(info.key);
    if (id == kNoKey) continue;  // a name too long to track
    keys_->SetObject(id, info.size, info.etag);
    members.push_back(id);
  }
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  std::vector<uint64_t> read(Words(members.size())), proposed(Words(members.size()));
  uint32_t read_count = 0, proposed_unread = 0;
  for (size_t i = 0; i < d->members.size(); ++i) {
    const bool was_read = Bit(d->read, i), was_proposed = Bit(d->proposed, i);
    if (!was_read && !was_proposed) continue;
    auto it = std::lower_bound(members.begin(), members.end(), d->members[i]);
    if (it == members.end() || *it != d->members[i]) continue;
    const size_t j = static_cast<size_t>(it - members.begin());
    if (was_read) {
      SetBit(&read, j);
      ++read_count;
    } else {
      SetBit(&proposed, j);
      ++proposed_unread;
    }
  }
  d->members = std::move(members);
  d->read = std::move(read);
  d->proposed = std::move(proposed);
  d->read_count = read_count;
  d->proposed_unread = proposed_unread;
  d->cursor = 0;
  d->listed = true;
  return Listing::kDone;
}

void EpochExpert::StartPass(Dir* d, std::string_view dir, int64_t now) {
  ++d->passes;
  d->last_pass_seconds = std::max<int64_t>(1, now - d->pass_start);
  d->pass_start = now;
  std::fill(d->read.begin(), d->read.end(), 0);
  std::fill(d->proposed.begin(), d->proposed.end(), 0);
  d->read_count = 0;
  d->repeats = 0;
  d->proposed_unread = 0;
  d->proposed_score = 0;
  d->proposing_since = now;
  Relist(d, dir, now);  // members come and go between epochs; on failure keep the old ones
}

double EpochExpert::UnreadScore(const Dir& d, int64_t now) const {
  if (d.members.empty()) return 0;
  double confidence = std::min(0.95, (d.passes + 1.0) / (d.passes + 2.0));
  if (d.passes == 0) {
    // A set in progress: enough distinct members read, and few of them twice (a scan, not a
    // working set). The evidence grows with the members read.
    if (d.read_count < FirstPassReads(d) || d.repeats * 8 > d.read_count) return 0;
    const double k = d.read_count;
    confidence = std::min(0.95, k / (k + kFirstPassEvidence));
  }
  // The share of the members left that are read within the horizon if the pass goes on at its
  // rate.
  const double share = std::min(
      1.0, static_cast<double>(options_.horizon.count()) / std::max(1e-9, SecondsLeft(d, now)));
  return confidence * share;
}

double EpochExpert::FirstPassReads(const Dir& d) const {
  const double share = options_.first_pass_share * static_cast<double>(d.members.size());
  return std::clamp(share, kFirstPassFloor,
                    std::max(kFirstPassFloor, static_cast<double>(options_.first_pass_min_reads)));
}

double EpochExpert::SecondsLeft(const Dir& d, int64_t now) const {
  // The pass's read rate: the previous pass's until this one has some history.
  const double n = static_cast<double>(d.members.size());
  double rate = d.last_pass_seconds > 0 ? n / static_cast<double>(d.last_pass_seconds) : 0;
  if (d.read_count >= 8 || rate == 0) {
    rate = d.read_count / std::max(1.0, static_cast<double>(now - d.pass_start));
  }
  const double remaining = std::max(1.0, n - d.read_count);
  return rate > 0 ? remaining / rate : std::numeric_limits<double>::infinity();
}

void EpochExpert::Observe(const Access& access, std::vector<Candidate>* out) {
  if (!access.first_read) return;
  const std::string_view dir = experts::DirOf(access.key_name);
  const int64_t now = experts::UnixSeconds(access.time);
  if (names_ == nullptr) return;
  const uint64_t tag = experts::HashBytes(dir, kSeed);
  Dir* d = dirs_.Find(tag);
  if (d == nullptr) {
    Heat* h = heat_.FindOrInsert(tag);
    if (now - h->window_start > options_.track_window.count()) {
      h->window_start = now;
      h->opens = 0;
    }
    h->recent[h->opens % kHeatKeys] = access.key;
    if (++h->opens < options_.min_opens_to_track || now < h->list_after) return;
    // Hot: tracked once listed. Until then (the mount lists in the background and answers
    // Unavailable meanwhile) the heat keeps counting its opens, and the listing is asked again
    // at its next open (free: it is being listed), in a second when over the budget, or after
    // relist_after when it failed.
    const std::array<KeyId, kHeatKeys> recent = h->recent;
    const size_t known = std::min<size_t>(h->opens, kHeatKeys);
    const int64_t start = h->window_start;
    Dir fresh;
    fresh.pass_start = start;
    const Listing listing = Relist(&fresh, dir, now, /*charge=*/!h->asked);
    if (listing != Listing::kDone) {
      h->asked = listing == Listing::kPending;
      h->list_after = h->asked ? now : fresh.listed_at + options_.relist_after.count();
      return;
    }
    heat_.Erase(h);
    d = dirs_.FindOrInsert(tag);
    fresh.tag = d->tag;
    fresh.stamp = d->stamp;
    *d = std::move(fresh);
    // The opens that made the directory hot belong to this first pass.
    for (size_t k = 0; k < known; ++k) {
      const size_t i = IndexOf(*d, recent[k]);
      if (i < d->members.size() && !Bit(d->read, i)) {
        SetBit(&d->read, i);
        ++d->read_count;
      }
    }
    return;
  }
  if (!d->listed && now - d->listed_at >= options_.relist_after.count() &&
      Relist(d, dir, now) != Listing::kDone) {
    return;
  }
  if (!d->listed) return;
  // An open whose reads the page cache serves (no length) says nothing of where members are read.
  if (access.length > 0) d->shape.Note(experts::TailRead(access, options_.range.window));
  size_t i = IndexOf(*d, access.key);
  if (i == d->members.size()) return;  // not listed yet: a new file
  if (Bit(d->read, i) &&
      d->read_count >= options_.complete_fraction * static_cast<double>(d->members.size())) {
    // A member read again once the pass (nearly) covered the directory: the next pass begins.
    StartPass(d, dir, now);
    i = IndexOf(*d, access.key);
    if (i == d->members.size()) return;
  }
  if (!Bit(d->read, i)) {
    SetBit(&d->read, i);
    ++d->read_count;
    if (Bit(d->proposed, i)) --d->proposed_unread;
  } else {
    ++d->repeats;
  }
  if (d->members.empty()) return;

  const double score = UnreadScore(*d, now);
  if (score <= 0) return;
  if (score > d->proposed_score + kReproposeGain) {
    // Proposed at a lower score (a set in progress gains confidence as it is read), the unread
    // members may now be worth a prefetch that was refused: propose them again, even those that
    // filled `ahead`.
    ClearProposed(d, now);
    d->proposed_score = static_cast<float>(score);
  }
  const bool all_proposed = d->proposed_unread >= options_.ahead ||
                            d->read_count + d->proposed_unread >= d->members.size();
  if (all_proposed && now - d->proposing_since >= options_.repropose_after.count()) {
    ClearProposed(d, now);
  }
  if (d->proposed_unread >= options_.ahead) return;
  size_t budget = std::min<size_t>(options_.max_candidates, options_.ahead - d->proposed_unread);
  const uint64_t tail = d->shape.Tail();
  const size_t n = d->members.size();
  const size_t words = Words(n);
  size_t w = (d->cursor / 64) % std::max<size_t>(words, 1);
  for (size_t scanned = 0; scanned <= words && budget > 0; ++scanned, w = (w + 1) % words) {
    uint64_t free = ~(d->read[w] | d->proposed[w]);
    if (w == words - 1 && n % 64 != 0) free &= (1ull << (n % 64)) - 1;
    while (free != 0 && budget > 0) {
      const size_t idx = w * 64 + static_cast<size_t>(__builtin_ctzll(free));
      free &= free - 1;
      SetBit(&d->proposed, idx);
      ++d->proposed_unread;
      d->cursor = static_cast<uint32_t>(idx + 1);
      if (d->passes == 0 && !ProposableInAFirstPass(*d, d->members[idx])) continue;
      --budget;
      out->push_back(experts::FileCandidate(*keys_, d->members[idx], score, options_.range,
                                            access.time, tail));
    }
  }
}

void EpochExpert::ClearProposed(Dir* d, int64_t now) {
  std::fill(d->proposed.begin(), d->proposed.end(), 0);
  d->proposed_unread = 0;
  d->cursor = 0;
  d->proposing_since = now;
}

bool EpochExpert::ProposableInAFirstPass(const Dir& d, KeyId key) const {
  const KeyTable::Object* o = keys_->object(key);
  return o != nullptr && (o->size <= options_.range.window || d.shape.Tail() != 0);
}

const EpochExpert::Dir* EpochExpert::ProposableDir(KeyId key) const {
  const std::string_view name = keys_->Name(key);
  if (name.empty()) return nullptr;
  const Dir* d = dirs_.Peek(experts::HashBytes(experts::DirOf(name), kSeed));
  if (d == nullptr) return nullptr;
  const size_t i = IndexOf(*d, key);
  if (i == d->members.size() || Bit(d->read, i)) return nullptr;
  if (d->passes == 0 && !ProposableInAFirstPass(*d, key)) return nullptr;
  return d;
}

double EpochExpert::Score(KeyId key, base::WallTime now) const {
  const Dir* d = ProposableDir(key);
  return d == nullptr ? 0 : UnreadScore(*d, experts::UnixSeconds(now));
}

std::chrono::seconds EpochExpert::Within(KeyId key, base::WallTime now) const {
  const Dir* d = ProposableDir(key);
  const int64_t t = experts::UnixSeconds(now);
  if (d == nullptr || UnreadScore(*d, t) <= 0) return {};
  // In a shuffled pass an unread member is read any time until the pass ends.
  const double left = std::min(SecondsLeft(*d, t), static_cast<double>(options_.horizon.count()));
  return std::chrono::seconds(static_cast<int64_t>(std::ceil(left)));
}

void EpochExpert::Forget(const std::vector<KeyId>& ids) {
  const experts::IdSet set(ids);
  heat_.ForEach([&](Heat& h) {
    for (KeyId& k : h.recent) {
      if (set.contains(k)) k = kNoKey;
    }
  });
  dirs_.ForEach([&](Dir& d) {
    if (std::none_of(d.members.begin(), d.members.end(),
                     [&](KeyId id) { return set.contains(id); })) {
      return;
    }
    std::vector<KeyId> members;
    std::vector<uint64_t> read(Words(d.members.size())), proposed(Words(d.members.size()));
    d.read_count = d.proposed_unread = 0;
    for (size_t i = 0; i < d.members.size(); ++i) {
      if (set.contains(d.members[i])) continue;
      const size_t j = members.size();
      members.push_back(d.members[i]);
      if (Bit(d.read, i)) {
        SetBit(&read, j);
        ++d.read_count;
      } else if (Bit(d.proposed, i)) {
        SetBit(&proposed, j);
        ++d.proposed_unread;
      }
    }
    read.resize(Words(members.size()));
    proposed.resize(Words(members.size()));
    d.members = std::move(members);
    d.read = std::move(read);
    d.proposed = std::move(proposed);
    d.cursor = 0;
  });
}

size_t EpochExpert::MemoryBytes() const {
  size_t bytes = sizeof(*this) + dirs_.MemoryBytes() + heat_.MemoryBytes();
  dirs_.ForEach([&](const Dir& d) {
    bytes += d.members.capacity() * sizeof(KeyId) +
             (d.read.capacity() + d.proposed.capacity()) * sizeof(uint64_t);
  });
  return bytes;
}

std::string EpochExpert::Save(const std::function<std::string_view(KeyId)>& name_of) const {
  experts::BlobWriter w(kFormat, kVersion);
  size_t n = 0;
  dirs_.ForEach([&](const Dir& d) { n += !d.members.empty(); });
  w.PutVar(n);
  dirs_.ForEach([&](const Dir& d) {
    if (d.members.empty()) return;
    w.PutStr(experts::DirOf(name_of(d.members[0])));
    w.PutVar(d.passes);
    w.PutI64(d.pass_start);
    w.PutI64(d.last_pass_seconds);
    w.PutVar(d.shape.reads);
    w.PutVar(d.shape.tails);
    w.PutVar(d.shape.tail_bytes);
    w.PutVar(d.read_count);
    for (size_t i = 0; i < d.members.size(); ++i) {
      if (Bit(d.read, i)) w.PutStr(experts::BaseOf(name_of(d.members[i])));
    }
  });
  return std::move(w).Finish();
}

base::Status EpochExpert::Load(std::string_view blob,
                               const std::function<KeyId(std::string_view)>& intern) {
  dirs_.Clear();
  experts::BlobReader r(blob);
  bool shapes = true;
  if (base::Status st = r.ReadHeader(kFormat, kVersion); !st.ok()) {
    // Version 1, without the read shapes: learned again from the next reads.
    r = experts::BlobReader(blob);
    if (!r.ReadHeader(kFormat, 1).ok()) return st;
    shapes = false;
  }
  const uint64_t n = r.GetCount(5);
  std::string key;
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const std::string dir(r.GetStr());
    Dir* d = dirs_.FindOrInsert(experts::HashBytes(dir, kSeed));
    d->passes = static_cast<uint32_t>(r.GetVar());
    d->pass_start = r.GetI64();
    d->last_pass_seconds = r.GetI64();
    if (shapes) {
      d->shape.reads =
          static_cast<uint16_t>(std::min<uint64_t>(r.GetVar(), experts::ReadShape::kSpan));
      d->shape.tails = static_cast<uint16_t>(std::min<uint64_t>(r.GetVar(), d->shape.reads));
      d->shape.tail_bytes = static_cast<uint32_t>(std::min(r.GetVar(), options_.range.window));
    }
    const uint64_t read = r.GetCount(1);
    // Until the next listing, the members known are those the current pass has read.
    for (uint64_t j = 0; j < read && r.ok(); ++j) {
      key.assign(dir).append(r.GetStr());
      d->members.push_back(intern(key));
    }
    std::sort(d->members.begin(), d->members.end());
    d->members.erase(std::unique(d->members.begin(), d->members.end()), d->members.end());
    d->read.assign(Words(d->members.size()), ~0ull);
    if (d->members.size() % 64 != 0) d->read.back() = (1ull << (d->members.size() % 64)) - 1;
    d->proposed.assign(d->read.size(), 0);
    d->read_count = static_cast<uint32_t>(d->members.size());
    d->listed = false;
  }
  base::Status status = r.Finish(kFormat);
  if (!status.ok()) dirs_.Clear();
  return status;
}

}  // namespace shadowfs::predict
