// Data and timing shared by the benchmarks: generated inputs that compress like real ones, and
// per-thread CPU time.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace shadowfs::bench {

// CPU time of this thread, kernel time included (pread's copy out of the page cache counts).
// Unlike wall time it does not grow when other processes take the core, which on a shared
// build machine is the difference between a measurement and noise.
inline double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// English-like prose: syllable words in a Zipf distribution, with sentences and paragraphs;
// lz4 stores it at about 2.1:1, zstd-1 at 3.4:1.
inline std::string EnglishText(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  static constexpr const char* kSyl[] = {"the", "an",  "re", "con", "ing", "er", "at", "ion",
                                         "pro", "ver", "st", "al",  "en",  "ly", "de", "ment"};
  std::vector<std::string> words;
  for (int i = 0; i < 4000; ++i) {
    std::string w;
    for (int s = 0, k = 1 + static_cast<int>(rng() % 3); s < k; ++s) w += kSyl[rng() % 16];
    words.push_back(w);
  }
  std::vector<double> weights;
  for (size_t i = 0; i < words.size(); ++i) weights.push_back(1.0 / static_cast<double>(i + 1));
  std::discrete_distribution<size_t> zipf(weights.begin(), weights.end());
  std::string out;
  bool capital = true;
  while (out.size() < n) {
    std::string w = words[zipf(rng)];
    if (capital) w[0] = static_cast<char>(w[0] - 'a' + 'A');
    out += w;
    capital = rng() % 12 == 0;
    out += capital ? (rng() % 6 == 0 ? ".\n\n" : ". ") : (rng() % 9 == 0 ? ", " : " ");
  }
  out.resize(n);
  return out;
}

// Incompressible bytes, as already-compressed data would be.
inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

}  // namespace shadowfs::bench
