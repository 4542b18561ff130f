// LookupReads: which processes read the files they look up. A lookup of a file this mount knows
// nothing of costs a round trip (a HEAD), and the read that follows another (a GET). When the
// process looking up nearly always opens the file for reading right after (a compiler's
// includes, a training loader, grep), the lookup can GET the object's first bytes instead of its
// HEAD: the answer carries the same headers, and for a small file the whole content, which
// becomes a shadow that the read is served from. One round trip instead of two.
//
// Per process name (as /proc/PID/comm gives it) it keeps the rate at which its cold lookups were
// followed by an open for reading of the same key within `window`: a running mean over the last
// outcomes (weight 1 / `memory`), once at least `min_lookups` outcomes are known. A lookup whose
// file is not opened in time counts as not read, so a process that stops reading what it looks
// up (`ls`, `stat`, `find`) falls back to HEADs. Bounded: `max_processes` names (least recently
// seen out) and `max_pending` lookups awaiting their open (the oldest resolved as unread).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <string>
#include <string_view>

#include "blobstore/base/clock.h"
#include "blobstore/base/mutex.h"

namespace shadowfs::fs {

class LookupReads {
 public:
  struct Options {
    std::chrono::nanoseconds window = std::chrono::seconds(2);
    double min_rate = 0.8;
    uint32_t min_lookups = 8;
    double memory = 32;
    size_t max_processes = 64;
    size_t max_pending = 4096;
  };
  LookupReads() : LookupReads(Options{}) {}
  explicit LookupReads(Options options) : options_(options) {}
  LookupReads(const LookupReads&) = delete;
  LookupReads& operator=(const LookupReads&) = delete;

  // Whether a cold lookup by `process` should read the object's first bytes. Never for an
  // unnamed process.
  bool ShouldRead(std::string_view process, base::MonoTime now);
  // `process` looked up the file `key`, which the mount did not know, at `now`.
  void Looked(const std::string& key, std::string_view process, base::MonoTime now);
  // `key` was opened for reading at `now`.
  void Opened(std::string_view key, base::MonoTime now);

  // The read rate learned for `process` and how many outcomes it rests on (tests).
  struct Rate {
    double rate = 0;
    uint32_t outcomes = 0;
  };
  Rate RateOf(std::string_view process);

 private:
  struct Process {
    double rate = 0;
    uint32_t outcomes = 0;
    std::list<std::string>::iterator lru;
  };
  struct Pending {
    std::string process;
    base::MonoTime at{};
  };
  // Resolves lookups older than the window (and beyond max_pending) as unread.
  void Expire(base::MonoTime now) REQUIRES(mu_);
  void Record(const std::string& process, bool read) REQUIRES(mu_);

  const Options options_;
  base::Mutex mu_;
  std::map<std::string, Process, std::less<>> processes_ GUARDED_BY(mu_);
  std::list<std::string> lru_ GUARDED_BY(mu_);  // process names, most recent first
  std::map<std::string, Pending, std::less<>> pending_ GUARDED_BY(mu_);
  std::deque<std::pair<base::MonoTime, std::string>> order_ GUARDED_BY(mu_);  // lookup times
};

}  // namespace shadowfs::fs
