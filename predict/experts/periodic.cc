#include "predict/experts/periodic.h"

#include <algorithm>
#include <cstdlib>

namespace shadowfs::predict {
namespace {

constexpr std::string_view kFormat = "shadowfs.predict.periodic";
constexpr uint32_t kVersion = 1;
constexpr int64_t kDay = 86400;

// Seconds between two times of day, around midnight.
int32_t DayDistance(int32_t a, int32_t b) {
  const int32_t d = std::abs(a - b) % static_cast<int32_t>(kDay);
  return std::min(d, static_cast<int32_t>(kDay) - d);
}

}  // namespace

PeriodicExpert::PeriodicExpert(Options options, KeyTable* keys, NamespaceView* names)
    : options_(options), keys_(keys), names_(names), prefixes_(options.max_prefixes) {}

void PeriodicExpert::Predict(Prefix* p) const {
  p->next = 0;
  p->next_path_day = kNoDate;
  p->confidence = 0;
  if (p->n < 2) return;
  const int32_t tolerance = static_cast<int32_t>(options_.tolerance.count());
  // The most recent occurrence and an earlier one at about the same time of day, 1 to 7 days
  // before it: a daily (or every few days) job, or a weekly one among other reads.
  for (size_t k = 1; k < p->n; ++k) {
    const int32_t gap = p->day[0] - p->day[k];
    if (gap > 7) break;
    if (DayDistance(p->second[0], p->second[k]) > tolerance) continue;
    // Support: earlier occurrences that repeat the same period at the same time.
    int support = 1;
    int64_t seconds = p->second[0] + p->second[k];
    for (size_t j = k + 1; j < p->n; ++j) {
      if (p->day[0] - p->day[j] == gap * static_cast<int32_t>(support + 1) &&
          DayDistance(p->second[0], p->second[j]) <= tolerance) {
        ++support;
        seconds += p->second[j];
      }
    }
    const int64_t second_of_day = seconds / (support + 1);
    p->next = (static_cast<int64_t>(p->day[0]) + gap) * kDay + second_of_day;
    p->confidence = support >= 3 ? 0.85f : support == 2 ? 0.75f : 0.6f;
    if (p->path_day[0] != kNoDate && p->path_day[k] != kNoDate) {
      p->next_path_day = p->path_day[0] + (p->path_day[0] - p->path_day[k]);
    }
    return;
  }
}

void PeriodicExpert::Observe(const Access& access, std::vector<Candidate>* out) {
  (void)out;  // proposals come from Tick, ahead of the next occurrence
  if (!access.first_read) return;
  const std::string_view dir = experts::DirOf(access.key_name);
  const std::optional<PathDate> date = FindPathDate(dir);
  Prefix* p = prefixes_.FindOrInsert(DateTemplateTag(dir, date));
  const int64_t t = experts::UnixSeconds(access.time);
  const int32_t day = static_cast<int32_t>(t >= 0 ? t / kDay : (t - kDay + 1) / kDay);
  if (p->n > 0 && p->day[0] >= day) return;  // this day's occurrence is already recorded
  for (size_t i = kOccurrences - 1; i > 0; --i) {
    p->day[i] = p->day[i - 1];
    p->second[i] = p->second[i - 1];
    p->path_day[i] = p->path_day[i - 1];
  }
  p->day[0] = day;
  p->second[0] = static_cast<int32_t>(t - day * kDay);
  p->path_day[0] = date ? date->days : kNoDate;
  p->n = static_cast<uint8_t>(std::min<size_t>(p->n + 1, kOccurrences));
  p->dir.assign(dir);
  Predict(p);
}

void PeriodicExpert::Fire(Prefix* p, int64_t now) {
  if (names_ == nullptr) return;
  std::string dir = p->dir;
  if (p->next_path_day != kNoDate) {
    if (const std::optional<PathDate> date = FindPathDate(dir)) {
      dir = WithPathDate(dir, *date, p->next_path_day);
    }
  }
  auto listed = names_->ListDirectory(dir, options_.max_members);
  if (!listed.ok() && listed.status().code() == base::StatusCode::kUnavailable) {
    p->retry_at = now + 1;  // being listed in the background: ask again in a second
    return;
  }
  if (!listed.ok() || listed->empty()) {
    p->retry_at = now + options_.retry.count();  // the job's input may not be written yet
    return;
  }
  p->fired_for = p->next;
  for (const ObjectInfo& info : *listed) {
    if (pending_.size() >= options_.max_pending) break;
    if (experts::DirOf(info.key) != dir) continue;
    const KeyId id = keys_->Intern(info.key);
    if (id == kNoKey) continue;  // a name too long to track
    keys_->SetObject(id, info.size, info.etag);
    pending_.push_back({id, p->confidence, p->next});
  }
}

void PeriodicExpert::Tick(base::WallTime now, std::vector<Candidate>* out) {
  const int64_t t = experts::UnixSeconds(now);
  const int64_t lead = options_.lead.count(), tolerance = options_.tolerance.count();
  prefixes_.ForEach([&](Prefix& p) {
    if (p.next == 0 || p.fired_for == p.next || t < p.retry_at) return;
    if (t >= p.next - lead && t <= p.next + tolerance) Fire(&p, t);
  });
  for (size_t i = 0; i < options_.max_candidates && !pending_.empty(); ++i) {
    const Pending item = pending_.front();
    pending_.pop_front();
    if (keys_->object(item.key) == nullptr) continue;  // forgotten meanwhile
    out->push_back(experts::FileCandidate(*keys_, item.key, item.score, options_.range,
                                          base::FromUnixSeconds(item.expected)));
  }
}

double PeriodicExpert::Score(KeyId key, base::WallTime now) const {
  const std::string_view dir = experts::DirOf(keys_->Name(key));
  const std::optional<PathDate> date = FindPathDate(dir);
  const Prefix* p = prefixes_.Peek(DateTemplateTag(dir, date));
  if (p == nullptr || p->next == 0) return 0;
  const int64_t t = experts::UnixSeconds(now);
  if (p->next > t + options_.horizon.count() || p->next + options_.tolerance.count() < t) return 0;
  if (p->next_path_day != kNoDate && (!date || date->days != p->next_path_day)) return 0;
  if (p->next_path_day == kNoDate && dir != p->dir) return 0;
  return p->confidence;
}

void PeriodicExpert::Forget(const std::vector<KeyId>& ids) {
  const experts::IdSet set(ids);
  std::erase_if(pending_, [&](const Pending& item) { return set.contains(item.key); });
}

size_t PeriodicExpert::MemoryBytes() const {
  size_t bytes = sizeof(*this) + prefixes_.MemoryBytes() + pending_.size() * sizeof(Pending);
  prefixes_.ForEach(
      [&](const Prefix& p) { bytes += p.dir.capacity() > 15 ? p.dir.capacity() : 0; });
  return bytes;
}

std::string PeriodicExpert::Save(const std::function<std::string_view(KeyId)>& name_of) const {
  (void)name_of;
  experts::BlobWriter w(kFormat, kVersion);
  w.PutVar(prefixes_.size());
  prefixes_.ForEach([&](const Prefix& p) {
    w.PutStr(p.dir);
    w.PutVar(p.n);
    for (size_t i = 0; i < p.n; ++i) {
      w.PutI64(p.day[i]);
      w.PutI64(p.second[i]);
      w.PutI64(p.path_day[i]);
    }
    w.PutI64(p.fired_for);
  });
  return std::move(w).Finish();
}

base::Status PeriodicExpert::Load(std::string_view blob,
                                  const std::function<KeyId(std::string_view)>& intern) {
  (void)intern;
  prefixes_.Clear();
  pending_.clear();
  experts::BlobReader r(blob);
  SHADOWFS_RETURN_IF_ERROR(r.ReadHeader(kFormat, kVersion));
  const uint64_t n = r.GetCount(3);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const std::string_view dir = r.GetStr();
    Prefix* p = prefixes_.FindOrInsert(DateTemplateTag(dir, FindPathDate(dir)));
    p->dir.assign(dir);
    const uint64_t count = r.GetVar();
    if (count > kOccurrences) break;
    p->n = static_cast<uint8_t>(count);
    for (size_t j = 0; j < count; ++j) {
      p->day[j] = static_cast<int32_t>(r.GetI64());
      p->second[j] = static_cast<int32_t>(r.GetI64());
      p->path_day[j] = static_cast<int32_t>(r.GetI64());
    }
    p->fired_for = r.GetI64();
    Predict(p);
  }
  base::Status status = r.Finish(kFormat);
  if (!status.ok()) prefixes_.Clear();
  return status;
}

}  // namespace shadowfs::predict
