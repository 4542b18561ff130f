#include "predict/experts/read_shape.h"

#include <algorithm>

#include "predict/experts/expert_util.h"

namespace shadowfs::predict::experts {
namespace {

constexpr uint64_t kSeed = 0x5a9e;
constexpr std::string_view kFormat = "shadowfs.predict.read_shapes";
constexpr uint32_t kVersion = 1;

}  // namespace

void ReadShape::Note(uint64_t tail) {
  if (reads >= kSpan) {
    reads /= 2;
    tails /= 2;
  }
  ++reads;
  if (tail == 0) return;
  ++tails;
  tail_bytes =
      static_cast<uint32_t>(std::max<uint64_t>(tail_bytes, std::min<uint64_t>(tail, UINT32_MAX)));
}

uint64_t ReadShape::Tail() const { return reads > 0 && tails * 4 >= reads * 3 ? tail_bytes : 0; }

uint64_t TailRead(const Access& access, uint64_t max) {
  const bool at_tail = access.offset > 0 && access.length > 0 && access.object_size > 0 &&
                       access.offset + access.length >= access.object_size;
  return at_tail ? std::min(access.object_size - access.offset, max) : 0;
}

void ReadShapes::Observe(const Access& access) {
  if (!access.first_read || access.length == 0) return;
  dirs_.FindOrInsert(HashBytes(DirOf(access.key_name), kSeed))
      ->shape.Note(TailRead(access, max_tail_));
}

std::string ReadShapes::Save() const {
  BlobWriter w(kFormat, kVersion);
  size_t n = 0;
  dirs_.ForEach([&](const Dir&) { ++n; });
  w.PutVar(n);
  dirs_.ForEach([&](const Dir& d) {
    w.PutVar(d.tag);
    w.PutVar(d.shape.reads);
    w.PutVar(d.shape.tails);
    w.PutVar(d.shape.tail_bytes);
  });
  return std::move(w).Finish();
}

base::Status ReadShapes::Load(std::string_view blob) {
  dirs_.Clear();
  BlobReader r(blob);
  SHADOWFS_RETURN_IF_ERROR(r.ReadHeader(kFormat, kVersion));
  const uint64_t n = r.GetCount(4);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const uint64_t tag = r.GetVar();
    ReadShape shape;
    shape.reads = static_cast<uint16_t>(std::min<uint64_t>(r.GetVar(), ReadShape::kSpan));
    shape.tails = static_cast<uint16_t>(std::min<uint64_t>(r.GetVar(), shape.reads));
    shape.tail_bytes = static_cast<uint32_t>(std::min(r.GetVar(), max_tail_));
    if (r.ok()) dirs_.FindOrInsert(tag)->shape = shape;
  }
  base::Status status = r.Finish(kFormat);
  if (!status.ok()) dirs_.Clear();
  return status;
}

uint64_t ReadShapes::Tail(std::string_view key) const {
  const Dir* d = dirs_.Peek(HashBytes(DirOf(key), kSeed));
  return d == nullptr ? 0 : d->shape.Tail();
}

}  // namespace shadowfs::predict::experts
