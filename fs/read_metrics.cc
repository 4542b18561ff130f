#include "fs/read_metrics.h"

#include <string>

namespace shadowfs::fs {

namespace {

const char* SourceName(ReadSource source) {
  switch (source) {
    case ReadSource::kStaged:
      return "staged";
    case ReadSource::kShadow:
      return "shadow";
    case ReadSource::kPrimary:
      return "primary";
  }
  return "unknown";
}

}  // namespace

ReadMetrics::ReadMetrics(base::MetricsRegistry* registry)
    : shadow_hits_(registry->GetCounter("shadowfs_shadow_hits_total",
                                        "Reads of the filesystem served from a shadow")),
      primary_reads_(registry->GetCounter("shadowfs_primary_reads_total",
                                          "Reads of the filesystem served from the primary")) {
  for (ReadSource source : {ReadSource::kStaged, ReadSource::kShadow, ReadSource::kPrimary}) {
    base::Labels labels = {{"source", SourceName(source)}};
    sources_[static_cast<size_t>(source)] = PerSource{
        .latency = &registry->GetHistogram(
            "shadowfs_read_latency_seconds",
            "Latency of reads of the filesystem, by where their bytes came from", labels),
        .bytes = &registry->GetCounter("shadowfs_read_bytes_total",
                                       "Bytes read from the filesystem, by where they came from",
                                       labels),
    };
  }
}

void ReadMetrics::Record(ReadSource source, uint64_t bytes, std::chrono::nanoseconds latency) {
  const PerSource& s = sources_[static_cast<size_t>(source)];
  s.latency->Observe(std::chrono::duration<double>(latency).count());
  s.bytes->Increment(bytes);
  if (source == ReadSource::kShadow) shadow_hits_.Increment();
  if (source == ReadSource::kPrimary) primary_reads_.Increment();
}

}  // namespace shadowfs::fs
