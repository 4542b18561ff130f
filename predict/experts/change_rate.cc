#include "predict/experts/change_rate.h"

#include <algorithm>
#include <cmath>

namespace shadowfs::predict {
namespace {

constexpr std::string_view kFormat = "shadowfs.predict.change_rate";
constexpr uint32_t kVersion = 1;

uint32_t EtagHash(std::string_view etag) {
  return static_cast<uint32_t>(experts::HashBytes(etag, 0xe7a9)) | 1;
}

}  // namespace

ChangeRateExpert::ChangeRateExpert(Options options, KeyTable* keys)
    : options_(options), keys_(keys), changing_(options.max_changing) {}

double ChangeRateExpert::DecayedReads(const Changing& c, int64_t now) const {
  const double dt = static_cast<double>(std::max<int64_t>(0, now - c.last_read));
  return c.reads * std::exp2(-dt / std::max<int64_t>(1, options_.horizon.count()));
}

void ChangeRateExpert::Observe(const Access& access, std::vector<Candidate>* out) {
  (void)out;
  if (!access.first_read || access.key == kNoKey) return;
  const int64_t t = experts::UnixSeconds(access.time);
  Changing* c = changing_.Find(Tag(access.key));
  if (c != nullptr) {
    c->reads = DecayedReads(*c, t) + 1;
    c->last_read = std::max(c->last_read, t);
  }
  if (access.etag.empty()) return;
  experts::GrowToIndex(&etag_hash_, access.key);
  const uint32_t h = EtagHash(access.etag);
  const uint32_t old = etag_hash_[access.key];
  etag_hash_[access.key] = h;
  if (old == 0 || old == h) return;
  // A new version: the change happened since the previous read; now is the best estimate.
  if (c == nullptr) {
    c = changing_.FindOrInsert(Tag(access.key));
    c->key = access.key;
    c->reads = 1;
    c->last_read = t;
  } else if (c->changes >= 1 && t > c->last_change) {
    const double interval = static_cast<double>(t - c->last_change);
    c->mean_interval = c->mean_interval == 0 ? interval : 0.7 * c->mean_interval + 0.3 * interval;
  }
  ++c->changes;
  c->last_change = t;
}

void ChangeRateExpert::Tick(base::WallTime now, std::vector<Candidate>* out) {
  const int64_t t = experts::UnixSeconds(now);
  size_t proposed = 0;
  changing_.ForEach([&](Changing& c) {
    if (proposed >= options_.max_candidates || c.mean_interval <= 0) return;
    const int64_t predicted = c.last_change + static_cast<int64_t>(c.mean_interval);
    // Right after the predicted change, while it is still the one expected (not a whole
    // interval late, when the next change would be due).
    if (t < predicted || t > predicted + static_cast<int64_t>(c.mean_interval / 2) ||
        c.refreshed_for == predicted) {
      return;
    }
    const double reads = DecayedReads(c, t);
    if (reads < options_.min_reads) return;
    c.refreshed_for = predicted;
    out->push_back(
        experts::FileCandidate(*keys_, c.key, 1.0 - std::exp2(-reads), options_.range, now));
    ++proposed;
  });
}

double ChangeRateExpert::Score(KeyId key, base::WallTime now) const {
  (void)now;
  const Changing* c = changing_.Peek(Tag(key));
  if (c == nullptr || c->key != key || c->changes == 0) return 0;
  if (c->mean_interval <= 0) return options_.single_change_prior;
  return 1.0 - std::exp(-static_cast<double>(options_.horizon.count()) / c->mean_interval);
}

void ChangeRateExpert::Forget(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) {
    if (id < etag_hash_.size()) etag_hash_[id] = 0;
    if (Changing* c = changing_.Find(Tag(id))) changing_.Erase(c);
  }
}

size_t ChangeRateExpert::MemoryBytes() const {
  return sizeof(*this) + etag_hash_.capacity() * sizeof(uint32_t) + changing_.MemoryBytes();
}

std::string ChangeRateExpert::Save(const std::function<std::string_view(KeyId)>& name_of) const {
  experts::BlobWriter w(kFormat, kVersion);
  w.PutVar(changing_.size());
  changing_.ForEach([&](const Changing& c) {
    w.PutStr(name_of(c.key));
    w.PutVar(c.key < etag_hash_.size() ? etag_hash_[c.key] : 0);
    w.PutVar(c.changes);
    w.PutI64(c.last_change);
    w.PutF64(c.mean_interval);
    w.PutF64(c.reads);
    w.PutI64(c.last_read);
    w.PutI64(c.refreshed_for);
  });
  return std::move(w).Finish();
}

base::Status ChangeRateExpert::Load(std::string_view blob,
                                    const std::function<KeyId(std::string_view)>& intern) {
  etag_hash_.clear();
  changing_.Clear();
  experts::BlobReader r(blob);
  SHADOWFS_RETURN_IF_ERROR(r.ReadHeader(kFormat, kVersion));
  const uint64_t n = r.GetCount(22);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const KeyId key = intern(r.GetStr());
    const uint32_t hash = static_cast<uint32_t>(r.GetVar());
    Changing c;
    c.key = key;
    c.changes = static_cast<uint32_t>(r.GetVar());
    c.last_change = r.GetI64();
    c.mean_interval = r.GetF64();
    c.reads = r.GetF64();
    c.last_read = r.GetI64();
    c.refreshed_for = r.GetI64();
    if (!r.ok() || key == kNoKey || !(c.mean_interval >= 0) || !(c.reads >= 0)) break;
    experts::GrowToIndex(&etag_hash_, key);
    etag_hash_[key] = hash;
    Changing* slot = changing_.FindOrInsert(Tag(key));
    const uint64_t tag = slot->tag;
    const uint32_t stamp = slot->stamp;
    *slot = c;
    slot->tag = tag;
    slot->stamp = stamp;
  }
  base::Status status = r.Finish(kFormat);
  if (!status.ok()) {
    etag_hash_.clear();
    changing_.Clear();
  }
  return status;
}

}  // namespace shadowfs::predict
