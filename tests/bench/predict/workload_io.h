// The pieces every shape of predict_workload shares: deterministic file contents (so any byte
// range read through a mount can be checked without a reference copy), timed reads that record
// one latency sample per open+read, and the JSON summary. Single-threaded except Recorder, which
// is safe to use from several reader threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace shadowfs::bench {

// File contents are a pure function of (relative path, offset): binary files are splitmix64
// words, text files lines of 64 characters (lowercase letters and spaces, '\n' at column 63).
enum class Content { kBinary, kText };

uint64_t PathSeed(const std::string& relative_path);
// Fills `out` with the bytes at [offset, offset + size) of a file with this seed and content.
void FillContent(uint64_t seed, Content content, uint64_t offset, size_t size, char* out);

// Creates ROOT/RELATIVE (and its parent directories) with `size` bytes of content. false + a
// message on stderr on failure.
bool WriteFile(const std::string& root, const std::string& relative, uint64_t size,
               Content content);

// Collects latency samples and counts; Summary() prints the one JSON line the harness parses.
class Recorder {
 public:
  void Add(std::chrono::nanoseconds latency, uint64_t bytes);
  void Error(const std::string& what);  // a failed or wrong read: counted, first few printed
  std::string Summary(const std::string& shape, double wall_seconds);
  uint64_t errors();

 private:
  std::mutex mu_;
  std::vector<double> samples_ms_;
  uint64_t bytes_ = 0;
  uint64_t errors_ = 0;
};

// Opens ROOT/RELATIVE and reads `size` bytes at `offset` (to the end of the file if size is
// kWhole), verifying them against the expected content; records one sample (open included) and
// returns the bytes read. `chunk` is the size of each read call.
inline constexpr uint64_t kWhole = ~0ULL;
uint64_t TimedRead(Recorder* rec, const std::string& root, const std::string& relative,
                   Content content, uint64_t offset = 0, uint64_t size = kWhole,
                   size_t chunk = 128 << 10);

// Reads an open file sequentially in `chunk`-sized calls, one sample per call (large files).
uint64_t TimedSequentialRead(Recorder* rec, const std::string& root, const std::string& relative,
                             Content content, size_t chunk);

// A small seeded PRNG (splitmix64), so every run of a shape makes the same choices.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[Below(i)]);
  }

 private:
  uint64_t state_;
};

}  // namespace shadowfs::bench
