#include "blobstore/shadow/codec.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

namespace shadowfs::shadow {

using base::Status;

namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// The sample test looks at a few slices spread over the chunk rather than its start, because
// files often begin with a compressible header in front of incompressible payload.
constexpr size_t kSampleBytes = 4096;
constexpr size_t kSampleCount = 4;
// Below this the sample would be most of the chunk: just run the codec.
constexpr size_t kMinSampledChunk = 4 * kSampleCount * kSampleBytes;

double EntropyBitsPerByte(const std::array<uint32_t, 256>& histogram, size_t total) {
  double bits = 0;
  for (uint32_t count : histogram) {
    if (count == 0) continue;
    double p = static_cast<double>(count) / static_cast<double>(total);
    bits -= p * std::log2(p);
  }
  return bits;
}

}  // namespace

struct CodecContext::Zstd {
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx;
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx;
};

std::string_view CodecName(Codec codec) {
  switch (codec) {
    case Codec::kNone:
      return "none";
    case Codec::kLz4:
      return "lz4";
    case Codec::kZstd:
      return "zstd";
  }
  return "unknown";
}

bool IsKnownCodec(uint8_t value) { return value < kCodecCount; }

CodecContext::CodecContext() = default;
CodecContext::~CodecContext() = default;

CodecContext::Zstd& CodecContext::zstd() {
  if (!zstd_) zstd_ = std::make_unique<Zstd>();
  return *zstd_;
}

size_t CodecContext::CompressLz4(std::span<const char> raw, char* dst, size_t capacity) {
  if (lz4_state_.empty()) lz4_state_.resize(static_cast<size_t>(LZ4_sizeofState()));
  // LZ4 returns 0 when the output does not fit in `capacity`, which is exactly "not worth it".
  int n = LZ4_compress_fast_extState(lz4_state_.data(), raw.data(), dst,
                                     static_cast<int>(raw.size()), static_cast<int>(capacity), 1);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

bool CodecContext::LooksIncompressible(std::span<const char> raw, const CodecOptions& options) {
  if (raw.size() < kMinSampledChunk) return false;
  std::array<char, kSampleBytes + kSampleBytes / 255 + 16> dst;  // >= LZ4_compressBound(4096)
  std::array<uint32_t, 256> histogram{};
  size_t sampled = 0;
  size_t compressed = 0;
  for (size_t s = 0; s < kSampleCount; ++s) {
    size_t pos = s * (raw.size() - kSampleBytes) / (kSampleCount - 1);
    auto sample = raw.subspan(pos, kSampleBytes);
    size_t n = CompressLz4(sample, dst.data(), dst.size());
    compressed += n == 0 ? sample.size() : n;
    sampled += sample.size();
    for (char c : sample) ++histogram[static_cast<unsigned char>(c)];
  }
  double lz_saving = 1.0 - static_cast<double>(compressed) / static_cast<double>(sampled);
  if (lz_saving >= options.sample_min_saving) return false;
  if (options.preferred == Codec::kLz4) return true;
  // zstd also entropy-codes literals, which wins on data LZ4 cannot touch (numeric columns with
  // a skewed byte distribution), so only call it incompressible if order-0 entropy is high too.
  double entropy_saving = 1.0 - EntropyBitsPerByte(histogram, sampled) / 8.0;
  return entropy_saving < options.sample_min_saving;
}

CompressedChunk CodecContext::Compress(std::span<const char> raw, const CodecOptions& options) {
  CompressedChunk raw_result{Codec::kNone, raw, false};
  if (options.preferred == Codec::kNone || raw.empty()) return raw_result;
  if (LooksIncompressible(raw, options)) {
    raw_result.skipped_by_sample = true;
    return raw_result;
  }
  double keep_fraction = 1.0 - std::clamp(options.min_saving, 0.0, 1.0);
  // Anything that does not fit in this budget is not worth keeping; the codecs stop early.
  size_t capacity = static_cast<size_t>(static_cast<double>(raw.size()) * keep_fraction);
  if (capacity == 0) return raw_result;
  if (out_.size() < capacity) out_.resize(capacity);

  size_t n = 0;
  if (options.preferred == Codec::kLz4) {
    n = CompressLz4(raw, out_.data(), capacity);
  } else {
    Zstd& z = zstd();
    if (!z.cctx) z.cctx.reset(ZSTD_createCCtx());
    if (!z.cctx) return raw_result;
    size_t r = ZSTD_compressCCtx(z.cctx.get(), out_.data(), capacity, raw.data(), raw.size(),
                                 options.zstd_level);
    n = ZSTD_isError(r) ? 0 : r;
  }
  if (n == 0 || n > capacity) return raw_result;
  return {options.preferred, std::span<const char>(out_.data(), n), false};
}

Status CodecContext::Decompress(Codec codec, std::span<const char> stored, std::span<char> out) {
  switch (codec) {
    case Codec::kNone:
      if (stored.size() != out.size()) {
        return Status::Corruption("raw chunk holds " + std::to_string(stored.size()) +
                                  " bytes, expected " + std::to_string(out.size()));
      }
      if (!out.empty()) std::memcpy(out.data(), stored.data(), out.size());
      return Status::Ok();
    case Codec::kLz4: {
      if (stored.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE) ||
          out.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
        return Status::Corruption("lz4 chunk too large");
      }
      int n = LZ4_decompress_safe(stored.data(), out.data(), static_cast<int>(stored.size()),
                                  static_cast<int>(out.size()));
      if (n < 0) return Status::Corruption("lz4 chunk is malformed");
      if (static_cast<size_t>(n) != out.size()) {
        return Status::Corruption("lz4 chunk decodes to " + std::to_string(n) +
                                  " bytes, expected " + std::to_string(out.size()));
      }
      return Status::Ok();
    }
    case Codec::kZstd: {
      Zstd& z = zstd();
      if (!z.dctx) z.dctx.reset(ZSTD_createDCtx());
      if (!z.dctx) return Status::IOError("cannot allocate a zstd decompression context");
      size_t n =
          ZSTD_decompressDCtx(z.dctx.get(), out.data(), out.size(), stored.data(), stored.size());
      if (ZSTD_isError(n)) {
        return Status::Corruption(std::string("zstd chunk is malformed: ") + ZSTD_getErrorName(n));
      }
      if (n != out.size()) {
        return Status::Corruption("zstd chunk decodes to " + std::to_string(n) +
                                  " bytes, expected " + std::to_string(out.size()));
      }
      return Status::Ok();
    }
  }
  return Status::Corruption("unknown codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace shadowfs::shadow
