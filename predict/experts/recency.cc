#include "predict/experts/recency.h"

#include <algorithm>
#include <cmath>

#include "predict/experts/expert_util.h"

namespace shadowfs::predict {
namespace {

constexpr std::string_view kFormat = "shadowfs.predict.recency";
constexpr uint32_t kVersion = 1;

}  // namespace

RecencyExpert::RecencyExpert(Options options) : options_(options) {
  if (options_.half_life.count() <= 0) options_.half_life = std::chrono::seconds(1);
}

void RecencyExpert::Add(KeyId key, int64_t seconds, double count) {
  if (key == kNoKey) return;
  if (base_ < 0) base_ = seconds;
  experts::GrowToIndex(&entries_, key);
  Entry& e = entries_[key];
  const int64_t t = std::clamp<int64_t>(seconds - base_, 0, UINT32_MAX);
  const double dt = std::max<int64_t>(0, t - e.last);
  const double decayed = e.count * std::exp2(-dt / options_.half_life.count());
  e.count = static_cast<float>(decayed + count);
  e.last = static_cast<uint32_t>(std::max<int64_t>(t, e.last));
}

void RecencyExpert::Observe(const Access& access, std::vector<Candidate>* out) {
  (void)out;
  // Every read through an open counts once: the first; sequential reads of one open are one use.
  if (access.first_read) Add(access.key, experts::UnixSeconds(access.time), 1.0);
}

double RecencyExpert::Count(KeyId key, base::WallTime now) const {
  if (key >= entries_.size() || base_ < 0) return 0;
  const Entry& e = entries_[key];
  if (e.count == 0) return 0;
  const double dt =
      std::max<double>(0, experts::UnixSeconds(now) - base_ - static_cast<double>(e.last));
  return e.count * std::exp2(-dt / options_.half_life.count());
}

double RecencyExpert::Score(KeyId key, base::WallTime now) const {
  return 1.0 - std::exp2(-Count(key, now));
}

void RecencyExpert::Forget(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) {
    if (id < entries_.size()) entries_[id] = Entry{};
  }
}

size_t RecencyExpert::MemoryBytes() const {
  return sizeof(*this) + entries_.capacity() * sizeof(Entry);
}

std::string RecencyExpert::Save(const std::function<std::string_view(KeyId)>& name_of) const {
  experts::BlobWriter w(kFormat, kVersion);
  size_t n = 0;
  for (const Entry& e : entries_) n += e.count > 0;
  w.PutVar(n);
  for (KeyId id = 0; id < entries_.size(); ++id) {
    const Entry& e = entries_[id];
    if (e.count <= 0) continue;
    w.PutStr(name_of(id));
    w.PutF64(e.count);
    w.PutI64(base_ + e.last);
  }
  return std::move(w).Finish();
}

base::Status RecencyExpert::Load(std::string_view blob,
                                 const std::function<KeyId(std::string_view)>& intern) {
  entries_.clear();
  base_ = -1;
  experts::BlobReader r(blob);
  SHADOWFS_RETURN_IF_ERROR(r.ReadHeader(kFormat, kVersion));
  const uint64_t n = r.GetCount(10);
  struct Item {
    KeyId key;
    double count;
    int64_t last;
  };
  std::vector<Item> items;
  items.reserve(n);
  int64_t first = INT64_MAX;
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const KeyId key = intern(r.GetStr());
    const double count = r.GetF64();
    const int64_t last = r.GetI64();
    if (!(count >= 0 && count < 1e9)) break;
    items.push_back({key, count, last});
    first = std::min(first, last);
  }
  base::Status status = r.Finish(kFormat);
  if (!status.ok()) return status;
  if (!items.empty()) base_ = first;
  for (const Item& item : items) Add(item.key, item.last, item.count);
  return status;
}

}  // namespace shadowfs::predict
