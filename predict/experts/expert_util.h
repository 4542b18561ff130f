// Small pieces the experts share: the binary codec of their persisted state, path helpers
// (directory of a key, natural order of names), hashing, a bounded table of recent scores, and
// the rule that turns a predicted file into a candidate byte range. Plain functions and values;
// no thread-safety of their own.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/status.h"
#include "predict/key_table.h"
#include "predict/types.h"

namespace shadowfs::predict::experts {

// Appends little-endian varints, doubles and length-prefixed strings. Each blob starts with a
// header (the expert's name and a format version) so that Load can refuse another's blob.
class BlobWriter {
 public:
  BlobWriter(std::string_view name, uint32_t version);
  void PutVar(uint64_t v);
  void PutI64(int64_t v);  // zigzag
  void PutF64(double v);
  void PutStr(std::string_view s);
  std::string Finish() && { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what BlobWriter wrote; any short or malformed field makes ok() false and every later
// read return zero, so a parser checks ok() once at the end.
class BlobReader {
 public:
  explicit BlobReader(std::string_view in) : in_(in) {}
  // Corruption unless the blob starts with this name and version.
  base::Status ReadHeader(std::string_view name, uint32_t version);
  uint64_t GetVar();
  int64_t GetI64();
  double GetF64();
  std::string_view GetStr();
  // A count of items of at least `min_item_bytes` each that the rest of the blob could hold
  // (guards allocations against a corrupt count).
  uint64_t GetCount(size_t min_item_bytes);
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }
  // Corruption naming `what` unless everything was read cleanly.
  base::Status Finish(std::string_view what) const;

 private:
  std::string_view in_;
  bool ok_ = true;
};

// "a/b/" for "a/b/c"; "" for a key at the root.
std::string_view DirOf(std::string_view key);
std::string_view BaseOf(std::string_view key);

// Natural order: runs of digits compare as numbers ("part-9" < "part-10"), the rest bytewise.
int NaturalCompare(std::string_view a, std::string_view b);
inline bool NaturalLess(std::string_view a, std::string_view b) { return NaturalCompare(a, b) < 0; }

inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
uint64_t HashBytes(std::string_view s, uint64_t seed = 0);

inline int64_t UnixSeconds(base::WallTime t) { return base::ToUnixSeconds(t); }
inline int64_t UnixMillis(base::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline double SecondsBetween(base::WallTime from, base::WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

// Makes v[index] valid, growing by a quarter at a time (not doubling) to bound slack in the
// per-key vectors that dominate memory.
template <typename T>
void GrowToIndex(std::vector<T>* v, size_t index) {
  if (index < v->size()) return;
  if (index >= v->capacity()) v->reserve(std::max(index + 1, v->capacity() + v->capacity() / 4));
  v->resize(index + 1);
}

// A token bucket in simulated time (seconds from the Accesses), bounding how often an expert may
// ask the NamespaceView for a listing whatever the access pattern.
class ListingBudget {
 public:
  ListingBudget(double per_second, double burst)
      : rate_(per_second), burst_(burst), tokens_(burst) {}
  bool Take(int64_t now) {
    if (now > last_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now - last_));
      last_ = now;
    }
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_, burst_, tokens_;
  int64_t last_ = 0;
};

// When `a` and `b` differ only in one digit run, b's number minus a's (`part-00006` ->
// `part-00007`: 1; `run9` -> `run12`: 3); otherwise nullopt. Tells adjacency in natural order
// without a listing in the usual case.
std::optional<int64_t> NumericStep(std::string_view a, std::string_view b);

// The directory after `dir` ("a/mod009/", ending in '/') when its last component is numbered:
// the last digit run of that component plus one, zero padding kept ("a/mod010/",
// "date/part-99/" -> "date/part-100/"); nullopt for the root or a component without digits.
std::optional<std::string> NextNumberedDir(std::string_view dir);

// Sorted ids for membership tests in Forget.
class IdSet {
 public:
  explicit IdSet(const std::vector<KeyId>& ids);
  bool contains(KeyId id) const;

 private:
  std::vector<KeyId> ids_;
};

// What to propose for a file predicted to be opened: the whole object when it is small (or its
// size unknown), else its first window. With `tail` (its directory's files are opened at their
// tails: ReadShape) its last `tail` bytes instead, when the object is known to be larger.
struct FileRangeRule {
  uint64_t whole_object_max = 8ull << 20;
  uint64_t window = 1ull << 20;
};
Candidate FileCandidate(const KeyTable& keys, KeyId key, double score, const FileRangeRule& rule,
                        base::WallTime expected_read = {}, uint64_t tail = 0);

// The last N scores an expert proposed, so that Score can answer for keys it just predicted
// without keeping per-key state. Scores older than the horizon are ignored.
class RecentScores {
 public:
  static constexpr size_t kSize = 64;
  void Add(KeyId key, double score, base::WallTime when);
  double Get(KeyId key, base::WallTime now, std::chrono::seconds horizon) const;
  void Forget(const IdSet& ids);

 private:
  struct Item {
    KeyId key = kNoKey;
    float score = 0;
    int64_t when = 0;
  };
  std::array<Item, kSize> items_{};
  size_t next_ = 0;
};

}  // namespace shadowfs::predict::experts
