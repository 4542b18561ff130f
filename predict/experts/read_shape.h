// ReadShape: where the first read through an open of a directory's files lands: at the file's
// tail (a query engine opens Parquet and ORC files at their footers, unzip a zip's central
// directory) or elsewhere. A file predicted to be opened in a directory read at its tails is
// proposed as its tail, not from its start: a 64 KiB footer rather than a 4 MiB file of which a
// query reads a quarter. Learned from the first reads that read something (an open whose reads
// the page cache serves says nothing); the counts halve once kSpan reads are in, so that a
// directory read another way changes shape within a few dozen opens.
//
// ReadShapes keeps one per directory, bounded (least recently noted replaced): the engine's,
// which places every expert's proposal of a file opened (predict/engine.cc), and persists with
// its state. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "blobstore/base/status.h"

#include "predict/experts/assoc_table.h"
#include "predict/types.h"

namespace shadowfs::predict::experts {

struct ReadShape {
  static constexpr uint32_t kSpan = 32;
  // A first read through an open that read `tail` bytes at the file's tail (0: elsewhere).
  void Note(uint64_t tail);
  // The tail to propose of a file predicted to be opened: the longest tail read while at least
  // three quarters of the first reads were at the tail; 0 otherwise (propose from the start).
  uint64_t Tail() const;

  uint16_t reads = 0;
  uint16_t tails = 0;
  uint32_t tail_bytes = 0;
};

// The bytes of a read that ends at the object's end and starts past 0 (a footer), at most
// `max`; 0 for any other read.
uint64_t TailRead(const Access& access, uint64_t max);

class ReadShapes {
 public:
  ReadShapes(size_t max_dirs, uint64_t max_tail) : dirs_(max_dirs), max_tail_(max_tail) {}
  // Learns from a first read through an open (one that read nothing is ignored).
  void Observe(const Access& access);
  // ReadShape::Tail of the directory of `key` (0 when unknown).
  uint64_t Tail(std::string_view key) const;
  size_t MemoryBytes() const { return sizeof(*this) + dirs_.MemoryBytes(); }
  // Persistence (the engine's state, under kStateName): directories by their hash, which is the
  // same in every run. Load of a blob it cannot parse returns Corruption and keeps nothing.
  static constexpr std::string_view kStateName = "read_shapes";
  std::string Save() const;
  base::Status Load(std::string_view blob);

 private:
  struct Dir {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    ReadShape shape;
  };
  AssocTable<Dir> dirs_;
  uint64_t max_tail_;
};

}  // namespace shadowfs::predict::experts
