#include "predict/experts/sequential.h"

#include <algorithm>

#include "predict/experts/expert_util.h"

namespace shadowfs::predict {
namespace {

constexpr std::string_view kFormat = "shadowfs.predict.sequential";
constexpr uint32_t kVersion = 1;

uint64_t StreamTag(KeyId key, KeyId process) {
  return experts::Mix64((static_cast<uint64_t>(key) << 32) | process);
}
uint64_t KeyTag(KeyId key) { return experts::Mix64(0x5e9000000000ull + key); }

}  // namespace

SequentialExpert::SequentialExpert(Options options, KeyTable* keys)
    : options_(options), keys_(keys), streams_(options.max_streams), by_key_(options.max_streams) {
  options_.initial = std::max<uint64_t>(options_.initial, 4096);
  options_.max = std::max(options_.max, options_.initial);
}

double SequentialExpert::RunScore(uint32_t run) {
  // A stream that has run sequentially k times continues with probability about (k+1)/(k+2)
  // (Laplace's rule of succession), capped: files do end.
  return std::min(0.95, (run + 1.0) / (run + 2.0));
}

void SequentialExpert::Observe(const Access& access, std::vector<Candidate>* out) {
  (void)keys_;
  if (access.length == 0) return;  // an open served from the page cache: no stream to follow
  const uint64_t tag = StreamTag(access.key, access.process);
  bool fresh = false;
  Stream* s = streams_.FindOrInsert(tag, &fresh);
  const uint64_t end = access.offset + access.length;
  // A read that makes progress from where the last one ended, or starts inside the window
  // already proposed (readers issue overlapping or slightly out-of-order reads), continues the
  // stream; a fresh stream is sequential from offset 0.
  const uint64_t slack = std::min<uint64_t>(s->next_offset, 128 << 10);
  const bool sequential = fresh ? access.offset == 0
                                : access.offset + slack >= s->next_offset &&
                                      access.offset <= std::max(s->next_offset, s->ahead) &&
                                      end > s->next_offset;
  if (fresh || !sequential) {
    s->key = access.key;
    s->window = options_.initial;
    s->run = 0;
    s->ahead = end;
  }
  if (fresh || !sequential) s->proposed = false;
  if (sequential) ++s->run;
  s->next_offset = (fresh || !sequential) ? end : std::max(end, s->next_offset);
  s->last_seconds = experts::UnixSeconds(access.time);
  by_key_.FindOrInsert(KeyTag(access.key))->stream_tag = tag;

  if (!sequential || access.object_size == 0 || end >= access.object_size) return;
  // Asynchronous readahead: top up when less than half a window is left ahead of the reader.
  const uint64_t ahead = std::max(s->ahead, end);
  if (ahead >= access.object_size || ahead - end >= s->window / 2) return;
  // The window doubles each time the reader consumes what was proposed before.
  if (s->proposed) s->window = std::min(s->window * 2, options_.max);
  s->proposed = true;
  const uint64_t target = std::min(end + s->window, access.object_size);
  Candidate c;
  c.key = access.key;
  c.offset = ahead;
  c.length = target - ahead;
  c.score = RunScore(s->run);
  c.expected_read = access.time;
  out->push_back(c);
  s->ahead = target;
}

double SequentialExpert::Score(KeyId key, base::WallTime now) const {
  const KeyStream* k = by_key_.Peek(KeyTag(key));
  if (k == nullptr) return 0;
  const Stream* s = streams_.Peek(k->stream_tag);
  if (s == nullptr || s->key != key || s->run == 0) return 0;
  if (experts::UnixSeconds(now) - s->last_seconds > options_.horizon.count()) return 0;
  return RunScore(s->run);
}

void SequentialExpert::Forget(const std::vector<KeyId>& ids) {
  const experts::IdSet set(ids);
  streams_.ForEach([&](Stream& s) {
    if (set.contains(s.key)) streams_.Erase(&s);
  });
  for (KeyId id : ids) {
    if (KeyStream* k = by_key_.Find(KeyTag(id))) by_key_.Erase(k);
  }
}

size_t SequentialExpert::MemoryBytes() const {
  return sizeof(*this) + streams_.MemoryBytes() + by_key_.MemoryBytes();
}

std::string SequentialExpert::Save(const std::function<std::string_view(KeyId)>& name_of) const {
  (void)name_of;
  return experts::BlobWriter(kFormat, kVersion).Finish();
}

base::Status SequentialExpert::Load(std::string_view blob,
                                    const std::function<KeyId(std::string_view)>& intern) {
  (void)intern;
  streams_.Clear();
  by_key_.Clear();
  experts::BlobReader r(blob);
  SHADOWFS_RETURN_IF_ERROR(r.ReadHeader(kFormat, kVersion));
  return r.Finish(kFormat);
}

}  // namespace shadowfs::predict
