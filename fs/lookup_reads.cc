#include "fs/lookup_reads.h"

namespace shadowfs::fs {

bool LookupReads::ShouldRead(std::string_view process, base::MonoTime now) {
  if (process.empty()) return false;
  base::MutexLock lock(&mu_);
  Expire(now);
  auto it = processes_.find(process);
  if (it == processes_.end()) return false;
  const Process& p = it->second;
  return p.outcomes >= options_.min_lookups && p.rate >= options_.min_rate;
}

void LookupReads::Looked(const std::string& key, std::string_view process, base::MonoTime now) {
  if (process.empty()) return;
  base::MutexLock lock(&mu_);
  Expire(now);
  auto [it, inserted] = pending_.try_emplace(key);
  if (!inserted) {
    Record(it->second.process, false);  // looked up again before any open
  }
  it->second = Pending{.process = std::string(process), .at = now};
  order_.emplace_back(now, key);
  Expire(now);
}

void LookupReads::Opened(std::string_view key, base::MonoTime now) {
  base::MutexLock lock(&mu_);
  Expire(now);
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  std::string process = std::move(it->second.process);
  pending_.erase(it);
  Record(process, true);
}

LookupReads::Rate LookupReads::RateOf(std::string_view process) {
  base::MutexLock lock(&mu_);
  auto it = processes_.find(process);
  if (it == processes_.end()) return {};
  return Rate{.rate = it->second.rate, .outcomes = it->second.outcomes};
}

void LookupReads::Expire(base::MonoTime now) {
  while (!order_.empty() &&
         (now - order_.front().first >= options_.window || order_.size() > options_.max_pending)) {
    auto [at, key] = std::move(order_.front());
    order_.pop_front();
    auto it = pending_.find(key);
    // A later lookup of the same key re-armed it: that one has its own entry in order_.
    if (it == pending_.end() || it->second.at != at) continue;
    std::string process = std::move(it->second.process);
    pending_.erase(it);
    Record(process, false);
  }
}

void LookupReads::Record(const std::string& process, bool read) {
  auto [it, inserted] = processes_.try_emplace(process);
  Process& p = it->second;
  if (inserted) {
    lru_.push_front(process);
    p.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, p.lru);
  }
  ++p.outcomes;
  // The plain mean until `memory` outcomes, then a running mean over about that many.
  const double weight = 1.0 / std::min<double>(p.outcomes, options_.memory);
  p.rate += weight * ((read ? 1.0 : 0.0) - p.rate);
  while (processes_.size() > options_.max_processes) {
    processes_.erase(lru_.back());
    lru_.pop_back();
  }
}

}  // namespace shadowfs::fs
