// EventRing: a bounded, lock-free multi-producer queue of AccessEvents between the read path
// (many FUSE threads calling Record) and one consumer (the prediction engine's thread calling
// Drain). Slots are preallocated; a full ring drops the new event and counts it, so a slow
// consumer can never slow a read. Record is wait-free apart from a CAS retry loop bounded by the
// number of concurrent producers.
//
// Thread-safe: Record from any number of threads; Drain from one thread at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "predict/access_event.h"

namespace shadowfs::predict {

class EventRing final : public AccessSink {
 public:
  // capacity: rounded up to a power of two, at least 2.
  explicit EventRing(size_t capacity);
  ~EventRing() override;
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  void Record(const AccessEvent& event) noexcept override;
  // Hands every event queued so far to `consume`, in the order they were claimed, and returns
  // how many. Events recorded while it runs may wait for the next call.
  size_t Drain(const std::function<void(AccessEvent&&)>& consume);

  uint64_t recorded() const { return recorded_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  size_t capacity() const { return mask_ + 1; }

 private:
  struct Slot;
  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<uint64_t> head_{0};  // next position a producer claims
  alignas(64) uint64_t tail_ = 0;              // next position the consumer reads
  std::atomic<uint64_t> recorded_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace shadowfs::predict
