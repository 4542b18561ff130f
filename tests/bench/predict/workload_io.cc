#include "tests/bench/predict/workload_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace shadowfs::bench {

namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz      ";  // 32: spaces make words

using SteadyClock = std::chrono::steady_clock;

// Whether `n` bytes read at `offset` hold the expected content. Checks 16 bytes at the start, at
// every 4 KiB boundary and at the end, not every byte: that catches a wrong file, shifted or
// zero-filled pages and short data at 1/256 of the cost, so verifying a 1 GiB read takes no
// noticeable CPU next to the read itself.
bool Matches(uint64_t seed, Content content, uint64_t offset, const char* data, size_t n) {
  char want[16];
  auto check = [&](size_t at) {
    size_t len = std::min<size_t>(sizeof(want), n - at);
    FillContent(seed, content, offset + at, len, want);
    return std::memcmp(data + at, want, len) == 0;
  };
  if (n == 0) return true;
  if (!check(0) || !check(n - std::min<size_t>(n, 16))) return false;
  for (size_t at = 4096 - offset % 4096; at < n; at += 4096) {
    if (!check(at)) return false;
  }
  return true;
}

// Reads [offset, offset + size) in `chunk` calls into `buf`, checking each piece. Returns the
// bytes read, or -1 after recording the error.
int64_t ReadAndCheck(Recorder* rec, int fd, const std::string& relative, Content content,
                     uint64_t offset, uint64_t size, size_t chunk, std::vector<char>* buf) {
  uint64_t seed = PathSeed(relative);
  uint64_t done = 0;
  buf->resize(chunk);
  while (done < size) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, size - done));
    ssize_t got = ::pread(fd, buf->data(), n, static_cast<off_t>(offset + done));
    if (got < 0) {
      rec->Error(relative + ": read: " + std::strerror(errno));
      return -1;
    }
    if (got == 0) break;
    if (!Matches(seed, content, offset + done, buf->data(), static_cast<size_t>(got))) {
      rec->Error(relative + ": wrong data near offset " + std::to_string(offset + done));
      return -1;
    }
    done += static_cast<uint64_t>(got);
  }
  return static_cast<int64_t>(done);
}

}  // namespace

uint64_t PathSeed(const std::string& relative_path) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : relative_path) h = (h ^ c) * 1099511628211ULL;
  return h;
}

void FillContent(uint64_t seed, Content content, uint64_t offset, size_t size, char* out) {
  uint64_t end = offset + size;
  uint64_t word_index = offset / 8;
  uint64_t pos = offset;
  while (pos < end) {
    uint64_t word = SplitMix(seed ^ (word_index * 0x9e3779b97f4a7c15ULL));
    for (uint64_t b = pos % 8; b < 8 && pos < end; ++b, ++pos) {
      unsigned char byte = static_cast<unsigned char>(word >> (8 * b));
      if (content == Content::kText) {
        byte = (pos % 64 == 63) ? '\n' : static_cast<unsigned char>(kAlphabet[byte & 31]);
      }
      out[pos - offset] = static_cast<char>(byte);
    }
    ++word_index;
  }
}

bool WriteFile(const std::string& root, const std::string& relative, uint64_t size,
               Content content) {
  std::filesystem::path path = std::filesystem::path(root) / relative;
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) {
    std::perror(path.c_str());
    return false;
  }
  uint64_t seed = PathSeed(relative);
  std::vector<char> buf(1 << 20);
  for (uint64_t off = 0; off < size; off += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    FillContent(seed, content, off, n, buf.data());
    if (std::fwrite(buf.data(), 1, n, f.get()) != n) {
      std::perror(path.c_str());
      return false;
    }
  }
  return true;
}

void Recorder::Add(std::chrono::nanoseconds latency, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  samples_ms_.push_back(std::chrono::duration<double, std::milli>(latency).count());
  bytes_ += bytes;
}

void Recorder::Error(const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (++errors_ <= 5) std::fprintf(stderr, "predict_workload: %s\n", what.c_str());
}

uint64_t Recorder::errors() {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_;
}

std::string Recorder::Summary(const std::string& shape, double wall_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<double> s = samples_ms_;
  std::sort(s.begin(), s.end());
  auto pct = [&s](double p) {
    if (s.empty()) return 0.0;
    size_t i = static_cast<size_t>(p * static_cast<double>(s.size() - 1) + 0.5);
    return s[std::min(i, s.size() - 1)];
  };
  char line[512];
  std::snprintf(line, sizeof(line),
                "{\"shape\":\"%s\",\"reads\":%zu,\"bytes\":%llu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
                "\"wall_s\":%.3f,\"errors\":%llu}",
                shape.c_str(), s.size(), static_cast<unsigned long long>(bytes_), pct(0.50),
                pct(0.99), wall_seconds, static_cast<unsigned long long>(errors_));
  return line;
}

uint64_t TimedRead(Recorder* rec, const std::string& root, const std::string& relative,
                   Content content, uint64_t offset, uint64_t size, size_t chunk) {
  thread_local std::vector<char> buf;
  std::string path = root + "/" + relative;
  auto t0 = SteadyClock::now();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rec->Error(path + ": open: " + std::strerror(errno));
    return 0;
  }
  int64_t got = ReadAndCheck(rec, fd, relative, content, offset, size, chunk, &buf);
  ::close(fd);
  if (got < 0) return 0;
  rec->Add(SteadyClock::now() - t0, static_cast<uint64_t>(got));
  return static_cast<uint64_t>(got);
}

uint64_t TimedSequentialRead(Recorder* rec, const std::string& root, const std::string& relative,
                             Content content, size_t chunk) {
  std::vector<char> buf;
  std::string path = root + "/" + relative;
  auto t0 = SteadyClock::now();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rec->Error(path + ": open: " + std::strerror(errno));
    return 0;
  }
  uint64_t total = 0;
  for (;;) {
    int64_t got = ReadAndCheck(rec, fd, relative, content, total, chunk, chunk, &buf);
    if (got <= 0) break;
    auto t1 = SteadyClock::now();
    rec->Add(t1 - t0, static_cast<uint64_t>(got));  // the first sample includes the open
    t0 = t1;
    total += static_cast<uint64_t>(got);
  }
  ::close(fd);
  return total;
}

uint64_t Rng::Next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return SplitMix(state_);
}

}  // namespace shadowfs::bench
