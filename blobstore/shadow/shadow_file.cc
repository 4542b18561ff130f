#include "blobstore/shadow/shadow_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "blobstore/shadow/file_io.h"

namespace shadowfs::shadow {

using base::Result;
using base::Status;

namespace {

std::string Num(uint64_t v) { return std::to_string(v); }

// The bytes printed in a mismatch message: a key or ETag may hold anything.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return "'" + out + "'";
}

// Enough for the fixed header and any ordinary key and ETag in one read.
constexpr size_t kFirstRead = 4096;

constexpr uint32_t kResidentCheckEvery = 8;

}  // namespace

bool ReadContext::Holds(const format::Header& h, uint32_t index, uint32_t from) const {
  return cached_ && cached_index_ == index && from >= cached_from_ &&
         cached_header_.checksum == h.checksum && cached_header_.object_size == h.object_size &&
         cached_header_.chunk_size == h.chunk_size && cached_header_.key == h.key &&
         cached_header_.etag == h.etag;
}

void ReadContext::Remember(const format::Header& h, uint32_t index, uint32_t from) {
  cached_header_ = h;
  cached_index_ = index;
  cached_from_ = from;
  cached_ = true;
}

Result<std::unique_ptr<ShadowFile>> ShadowFile::Open(const std::string& path,
                                                     std::string_view expected_key,
                                                     std::string_view expected_etag,
                                                     Access access) {
  int flags = (access == Access::kReadWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW;
  base::UniqueFd fd(::open(path.c_str(), flags));
  if (!fd) {
    if (errno == ENOENT) return Status::NotFound("no shadow file " + path);
    return base::ErrnoStatus(errno, "open shadow " + path);
  }
  auto in_context = [&](const Status& st) { return st.WithContext("shadow " + path); };
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return base::ErrnoStatus(errno, "stat shadow " + path);
  if (!S_ISREG(st.st_mode)) return Status::Corruption("shadow " + path + " is not a file");
  uint64_t file_size = static_cast<uint64_t>(st.st_size);

  std::string head(std::min<uint64_t>(file_size, kFirstRead), '\0');
  Status s = io::PreadFull(fd.get(), head, 0, "header");
  if (!s.ok()) return in_context(s);
  auto header_size = format::DecodeHeaderPrefix(head);
  if (!header_size.ok()) return in_context(header_size.status());
  if (*header_size > file_size) {
    return in_context(Status::Corruption("header truncated: the file has " + Num(file_size) +
                                         " bytes, the header " + Num(*header_size)));
  }
  if (*header_size > head.size()) {
    head.resize(*header_size);
    s = io::PreadFull(fd.get(), head, 0, "header");
    if (!s.ok()) return in_context(s);
  }
  auto header = format::DecodeHeader(head);
  if (!header.ok()) return in_context(header.status());
  if (header->key != expected_key || header->etag != expected_etag) {
    return in_context(Status::Corruption(
        "holds key " + Printable(header->key) + " ETag " + Printable(header->etag) +
        ", expected key " + Printable(expected_key) + " ETag " + Printable(expected_etag)));
  }
  uint64_t data_start = format::DataStart(*header);
  if (data_start > file_size) {
    return in_context(Status::Corruption("index truncated: the file has " + Num(file_size) +
                                         " bytes, the index ends at " + Num(data_start)));
  }

  std::string index(data_start - header->header_size, '\0');
  s = io::PreadFull(fd.get(), index, header->header_size, "index");
  if (!s.ok()) return in_context(s);
  auto file = std::make_unique<ShadowFile>(Token{}, path, std::move(fd), access, std::move(*header),
                                           file_size);
  base::MutexLock lock(&file->mu_);
  const format::Header& h = file->header_;
  for (uint32_t i = 0; i < h.chunk_count; ++i) {
    format::Entry e;
    switch (format::DecodeEntry(index.data() + size_t{i} * format::kEntrySize, i, h.checksum, &e)) {
      case format::EntryState::kAbsent:
        break;
      case format::EntryState::kTorn:
        ++file->torn_at_open_;
        break;
      case format::EntryState::kPresent:
        s = format::CheckEntry(e, i, h, data_start, file_size);
        if (!s.ok()) return in_context(s);
        file->entries_[i] = e;
        file->AddPresent(e);
        break;
    }
  }
  return file;
}

ShadowFile::ShadowFile(Token, std::string path, base::UniqueFd fd, Access access,
                       format::Header header, uint64_t file_size)
    : path_(std::move(path)),
      fd_(std::move(fd)),
      access_(access),
      header_(std::move(header)),
      data_start_(format::DataStart(header_)),
      entries_(header_.chunk_count),
      busy_(header_.chunk_count, false),
      end_(file_size) {}

void ShadowFile::AddPresent(const format::Entry& e) {
  ++present_;
  present_raw_ += e.raw_len;
  present_stored_ += e.stored_len;
  ++by_codec_[static_cast<size_t>(e.codec)];
}

void ShadowFile::RemovePresent(const format::Entry& e) {
  --present_;
  present_raw_ -= e.raw_len;
  present_stored_ -= e.stored_len;
  --by_codec_[static_cast<size_t>(e.codec)];
}

Result<format::Entry> ShadowFile::EntryFor(uint32_t index) const {
  if (index >= header_.chunk_count) {
    return Status::InvalidArgument("chunk " + Num(index) + " out of range in shadow " + path_);
  }
  format::Entry e;
  {
    base::MutexLock lock(&mu_);
    e = entries_[index];
  }
  if (!e.present()) {
    return Status::NotFound("chunk " + Num(index) + " is absent from shadow " + path_);
  }
  return e;
}

bool ShadowFile::Mappable(const format::Entry& e, const ReadContext& ctx) {
  return e.codec == Codec::kNone && ctx.serving_ && e.raw_len >= format::kAlignedChunkMin &&
         e.data_offset % format::kDataAlignment == 0;
}

Status ShadowFile::ChunkError(const Status& s, uint32_t index, const format::Entry& e) const {
  return s.WithContext("chunk " + Num(index) + " (" + std::string(CodecName(e.codec)) +
                       ") of shadow " + path_);
}

Status ShadowFile::ReadChunk(uint32_t index, std::span<char> out, ReadContext& ctx) const {
  SHADOWFS_ASSIGN_OR_RETURN(format::Entry e, EntryFor(index));
  if (out.size() < e.raw_len) {
    return Status::InvalidArgument("buffer of " + Num(out.size()) + " bytes for chunk of " +
                                   Num(e.raw_len));
  }
  std::span<char> raw = out.first(e.raw_len);
  Status s;
  std::optional<Status> mapped;
  if (Mappable(e, ctx)) {
    MappedFile::PieceCopy all{0, raw};
    mapped = ReadMapped(e, {&all, 1}, ctx);
  }
  if (mapped) {
    s = std::move(*mapped);  // verified as it was copied
  } else {
    if (e.codec == Codec::kNone) {
      s = io::PreadFull(fd_.get(), raw, e.data_offset, "chunk");
    } else {
      std::vector<char>& stored = ctx.codec().scratch();
      if (stored.size() < e.stored_len) stored.resize(e.stored_len);
      std::span<char> in(stored.data(), e.stored_len);
      s = io::PreadFull(fd_.get(), in, e.data_offset, "chunk");
      if (s.ok()) s = ctx.codec().Decompress(e.codec, in, raw);
    }
    if (s.ok() && format::Checksum(raw) != e.raw_checksum) {
      s = Status::Corruption("checksum mismatch");
    }
  }
  if (!s.ok()) return ChunkError(s, index, e);
  return Status::Ok();
}

Status ShadowFile::ReadPartOfChunk(uint32_t index, uint32_t in_chunk, std::span<char> part,
                                   ReadContext& ctx) const {
  SHADOWFS_ASSIGN_OR_RETURN(format::Entry e, EntryFor(index));
  const uint32_t len = e.raw_len;
  if (ctx.chunk_.size() < len) ctx.chunk_.resize(len);
  if (Mappable(e, ctx)) {
    // The part goes straight to the caller; only what follows it is kept, for the next read of
    // a reader moving forward (the kernel's readahead requests end a quarter into a chunk).
    const auto rest = static_cast<uint32_t>(in_chunk + part.size());
    const MappedFile::PieceCopy copies[] = {
        {in_chunk, part}, {rest, std::span<char>(ctx.chunk_.data() + rest, len - rest)}};
    if (std::optional<Status> s = ReadMapped(e, copies, ctx)) {
      if (!s->ok()) return ChunkError(*s, index, e);
      if (rest < len) ctx.Remember(header_, index, rest);
      return Status::Ok();
    }
  }
  SHADOWFS_RETURN_IF_ERROR(ReadChunk(index, std::span<char>(ctx.chunk_.data(), len), ctx));
  ctx.Remember(header_, index, 0);
  std::memcpy(part.data(), ctx.chunk_.data() + in_chunk, part.size());
  return Status::Ok();
}

std::optional<Status> ShadowFile::ReadMapped(const format::Entry& e,
                                             std::span<const MappedFile::PieceCopy> copies,
                                             ReadContext& ctx) const {
  std::shared_ptr<const MappedFile> map;
  uint64_t end;
  {
    base::MutexLock lock(&mu_);
    // A partial shadow grows with every append; it is read with pread until it is complete.
    if (present_ != header_.chunk_count) return std::nullopt;
    map = mapping_;
    end = end_;
  }
  if (!map || !map->Covers(e.data_offset, e.raw_len)) {
    map = MappedFile::Map(fd_.get(), end);
    if (!map || !map->Covers(e.data_offset, e.raw_len)) return std::nullopt;
    std::shared_ptr<const MappedFile> replaced;
    base::MutexLock lock(&mu_);
    if (!mapping_ || mapping_->length() < map->length()) {
      replaced = std::exchange(mapping_, map);
    }
    // `replaced` (if any) is unmapped after unlocking, unless a reader still holds it.
  }
  // A chunk not in the page cache is read with pread, whose readahead beats page faults. While
  // the chunks a reader reads are in, only one read in kResidentCheckEvery asks (mincore costs
  // a few percent of a 1 MiB read from memory).
  if (!ctx.resident_ || ++ctx.reads_since_check_ >= kResidentCheckEvery) {
    ctx.reads_since_check_ = 0;
    ctx.resident_ = map->Resident(e.data_offset, e.raw_len);
    if (!ctx.resident_) return std::nullopt;
  }
  std::optional<uint64_t> sum = map->ChecksumAndCopy(e.data_offset, e.raw_len, copies);
  if (!sum) return std::nullopt;  // a page could not be read: pread says why
  if (*sum != e.raw_checksum) return Status::Corruption("checksum mismatch");
  return Status::Ok();
}

void ShadowFile::Unmap() const {
  std::shared_ptr<const MappedFile> old;
  base::MutexLock lock(&mu_);
  old.swap(mapping_);
  // Unmapped after unlocking (munmap can take a while), unless a reader still holds it.
}

bool ShadowFile::mapped() const {
  base::MutexLock lock(&mu_);
  return mapping_ != nullptr;
}

Result<RangeRead> ShadowFile::Read(uint64_t offset, std::span<char> out, ReadContext& ctx) const {
  if (offset > header_.object_size) {
    return Status::InvalidArgument("read at " + Num(offset) + " past the end of a blob of " +
                                   Num(header_.object_size) + " bytes");
  }
  RangeRead r;
  size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), header_.object_size - offset));
  while (r.bytes < want) {
    uint64_t pos = offset + r.bytes;
    auto index = static_cast<uint32_t>(pos / header_.chunk_size);
    auto in_chunk = static_cast<uint32_t>(pos % header_.chunk_size);
    uint32_t len = chunk_length(index);
    size_t n = std::min<size_t>(len - in_chunk, want - r.bytes);
    char* dst = out.data() + r.bytes;
    if (ctx.Holds(header_, index, in_chunk)) {
      std::memcpy(dst, ctx.chunk_.data() + in_chunk, n);
      r.bytes += n;
      continue;
    }
    Status s;
    if (in_chunk == 0 && n == len) {
      // The caller wants the whole chunk: decode straight into its buffer.
      s = ReadChunk(index, std::span<char>(dst, len), ctx);
    } else {
      ctx.ForgetCachedChunk();
      s = ReadPartOfChunk(index, in_chunk, std::span<char>(dst, n), ctx);
    }
    if (s.IsNotFound() || s.code() == base::StatusCode::kCorruption) {
      r.stop = s.IsNotFound() ? RangeRead::Stop::kAbsent : RangeRead::Stop::kCorrupt;
      r.chunk = index;
      if (!s.IsNotFound()) r.error = std::move(s);
      return r;
    }
    if (!s.ok()) return s;
    r.bytes += n;
  }
  r.stop = want < out.size() ? RangeRead::Stop::kEndOfObject : RangeRead::Stop::kComplete;
  return r;
}

Status ShadowFile::CheckWritable(uint32_t index) const {
  if (access_ != Access::kReadWrite) {
    return Status::InvalidArgument("shadow " + path_ + " was opened read-only");
  }
  if (index >= header_.chunk_count) {
    return Status::InvalidArgument("chunk " + Num(index) + " out of range in shadow " + path_);
  }
  return Status::Ok();
}

void ShadowFile::ClearBusy(uint32_t index) {
  base::MutexLock lock(&mu_);
  busy_[index] = false;
}

Status ShadowFile::AppendChunk(uint32_t index, std::span<const char> raw,
                               const CodecOptions& options, CodecContext& ctx) {
  SHADOWFS_RETURN_IF_ERROR(CheckWritable(index));
  uint32_t raw_len = chunk_length(index);
  if (raw.size() != raw_len) {
    return Status::InvalidArgument("chunk " + Num(index) + " has " + Num(raw.size()) +
                                   " bytes, expected " + Num(raw_len));
  }
  {
    base::MutexLock lock(&mu_);
    if (entries_[index].present() || busy_[index]) {
      return Status::AlreadyExists("chunk " + Num(index) + " of shadow " + path_ +
                                   (busy_[index] ? " is being written" : " is present"));
    }
    busy_[index] = true;
  }
  CompressedChunk c = ctx.Compress(raw, options);
  format::Entry e;
  e.stored_len = static_cast<uint32_t>(c.bytes.size());
  e.raw_len = raw_len;
  e.codec = c.codec;
  e.raw_checksum = format::Checksum(raw);
  {
    base::MutexLock lock(&mu_);
    e.data_offset = format::ChunkDataOffset(end_, e.codec, raw_len);
    end_ = e.data_offset + e.stored_len;
  }
  // Data first and durable, then the entry that points at it: after a crash the entry is either
  // the old (absent) one or describes bytes that are on disk.
  Status s = io::PwriteFull(fd_.get(), c.bytes, e.data_offset, "chunk data");
  if (s.ok()) s = io::Fdatasync(fd_.get(), path_);
  char slot[format::kEntrySize];
  format::EncodeEntry(e, index, header_.checksum, slot);
  if (s.ok()) s = io::PwriteFull(fd_.get(), slot, format::IndexOffset(header_, index), "entry");
  if (s.ok()) s = io::Fdatasync(fd_.get(), path_);
  if (!s.ok()) {
    // The reserved bytes become dead space. The entry, if it reached the disk, describes durable
    // data, so leaving it is safe; readers of this object keep seeing the chunk as absent.
    ClearBusy(index);
    return s.WithContext("append chunk " + Num(index) + " to shadow " + path_);
  }
  base::MutexLock lock(&mu_);
  entries_[index] = e;
  AddPresent(e);
  busy_[index] = false;
  return Status::Ok();
}

Status ShadowFile::DropChunk(uint32_t index) {
  SHADOWFS_RETURN_IF_ERROR(CheckWritable(index));
  {
    base::MutexLock lock(&mu_);
    if (busy_[index] || !entries_[index].present()) return Status::Ok();
    RemovePresent(entries_[index]);
    entries_[index] = format::Entry{};
    busy_[index] = true;
  }
  char zeros[format::kEntrySize] = {};
  Status s = io::PwriteFull(fd_.get(), zeros, format::IndexOffset(header_, index), "entry");
  if (s.ok()) s = io::Fdatasync(fd_.get(), path_);
  ClearBusy(index);
  // On failure the old entry may survive on disk; the next reader re-detects the bad chunk.
  return s.WithContext("drop chunk " + Num(index) + " of shadow " + path_);
}

bool ShadowFile::IsPresent(uint32_t index) const {
  base::MutexLock lock(&mu_);
  return index < entries_.size() && entries_[index].present();
}

uint32_t ShadowFile::present_chunks() const {
  base::MutexLock lock(&mu_);
  return present_;
}

ShadowStats ShadowFile::stats() const {
  base::MutexLock lock(&mu_);
  ShadowStats s;
  s.present_chunks = present_;
  s.present_raw_bytes = present_raw_;
  s.file_size = end_;
  s.live_bytes = data_start_ + present_stored_;
  s.chunks_by_codec = by_codec_;
  s.torn_entries_at_open = torn_at_open_;
  return s;
}

}  // namespace shadowfs::shadow
