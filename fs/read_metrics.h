// ReadMetrics: what the read path exports about FUSE reads, by where their bytes came from:
// staged data (this mount's own writes, or an upload not yet at the primary), a shadow, or the
// primary (directly or through the readahead window). The metrics are registered once, when the
// mount starts; Record is a few relaxed atomic updates, no lock and no registry lookup.
//
//   shadowfs_read_latency_seconds{source}  histogram of the latency of FileSystem reads
//   shadowfs_read_bytes_total{source}      bytes returned
//   shadowfs_shadow_hits_total             reads served from a shadow
//   shadowfs_primary_reads_total           reads served from the primary
//
// Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "blobstore/base/metrics.h"

namespace shadowfs::fs {

enum class ReadSource { kStaged = 0, kShadow = 1, kPrimary = 2 };

class ReadMetrics {
 public:
  explicit ReadMetrics(base::MetricsRegistry* registry);
  ReadMetrics(const ReadMetrics&) = delete;
  ReadMetrics& operator=(const ReadMetrics&) = delete;

  void Record(ReadSource source, uint64_t bytes, std::chrono::nanoseconds latency);

  uint64_t shadow_hits() const { return shadow_hits_.value(); }
  uint64_t primary_reads() const { return primary_reads_.value(); }

 private:
  struct PerSource {
    base::Histogram* latency;
    base::Counter* bytes;
  };
  std::array<PerSource, 3> sources_;
  base::Counter& shadow_hits_;
  base::Counter& primary_reads_;
};

}  // namespace shadowfs::fs
