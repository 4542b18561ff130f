// Per-chunk compression for shadows. Each chunk is compressed on its own with the codec that pays
// for itself: a cheap sample test sends incompressible chunks (media, archives, encrypted data)
// straight to raw storage, otherwise the preferred codec runs and its output is kept only if it
// is meaningfully smaller than the raw bytes. Decompression uses the bounds-checked APIs only, so
// a damaged or hostile chunk yields Status::Corruption, never a crash or an overrun.
//
// Thread-safety: a CodecContext holds reusable zstd/lz4 state and scratch buffers and is
// single-threaded; give each thread (or each worker) its own. The free functions are pure.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "blobstore/base/status.h"

namespace shadowfs::shadow {

// Stored in the chunk index; the values are part of the on-disk format.
enum class Codec : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };
inline constexpr int kCodecCount = 3;

std::string_view CodecName(Codec codec);
// True for the values a reader of this build can decode.
bool IsKnownCodec(uint8_t value);

struct CodecOptions {
  // kNone stores every chunk raw.
  Codec preferred = Codec::kZstd;
  // zstd levels 1..3 compress at hundreds of MB/s per core; higher levels cost far more CPU for
  // a few percent, which a cache that is refilled from the network rarely repays.
  int zstd_level = 1;
  // Keep the compressed form only if it saves at least this fraction of the raw size: a chunk
  // that barely shrinks still pays the decompression cost on every read.
  double min_saving = 0.03;
  // The pre-test: LZ4 over a few samples of the chunk. If it saves less than this and the
  // samples' byte entropy is near 8 bits (nothing for zstd's entropy stage either), the chunk
  // is stored raw without running the full codec.
  double sample_min_saving = 0.10;
};

// The outcome of compressing one chunk. `bytes` points either into the caller's raw input (for
// kNone) or into the context's output buffer, and is valid until the next call on the context.
struct CompressedChunk {
  Codec codec = Codec::kNone;
  std::span<const char> bytes;
  // True when the sample test decided (the full codec did not run).
  bool skipped_by_sample = false;
};

class CodecContext {
 public:
  CodecContext();
  ~CodecContext();
  CodecContext(const CodecContext&) = delete;
  CodecContext& operator=(const CodecContext&) = delete;

  // Never fails: when a codec reports an error the chunk is simply stored raw.
  CompressedChunk Compress(std::span<const char> raw, const CodecOptions& options);

  // Decodes `stored` into exactly `out.size()` bytes (the chunk's known raw size). Corruption
  // if the input is malformed or decodes to any other size.
  base::Status Decompress(Codec codec, std::span<const char> stored, std::span<char> out);

  // The sample test alone: true when Compress would store `raw` raw without running the codec
  // (a few 4 KiB samples; false for chunks too small to sample).
  bool LooksIncompressible(std::span<const char> raw, const CodecOptions& options);

  // A reusable buffer for callers that need to stage stored bytes before Decompress.
  std::vector<char>& scratch() { return scratch_; }

 private:
  struct Zstd;
  // Lazily created on first use so that a context that only ever sees raw chunks costs nothing.
  std::unique_ptr<Zstd> zstd_;
  std::vector<char> lz4_state_;
  std::vector<char> out_;
  std::vector<char> scratch_;

  Zstd& zstd();
  // Compressed size if it fits in `capacity`, else 0.
  size_t CompressLz4(std::span<const char> raw, char* dst, size_t capacity);
};

}  // namespace shadowfs::shadow
