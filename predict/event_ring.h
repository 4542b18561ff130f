// EventRing: a bounded, lock-free multi-producer queue of AccessEvents between the read path
// (many FUSE threads calling Record) and one consumer (the prediction engine's thread calling
// Drain). Slots are preallocated; a full ring drops the new event and counts it, so a slow
// consumer can never slow a read. Record is wait-free apart from a CAS retry loop bounded by the
// number of concurrent producers.
//
// The consumer may sleep until an event comes (WaitForEvents) instead of polling: the producer
// that records the first event after it fell asleep wakes it (one futex wake per sleep). While
// the consumer is awake, Record makes no system call; it pays one fence to see whether it sleeps.
//
// Thread-safe: Record from any number of threads; Drain and WaitForEvents from one thread at a
// time; Interrupt from any thread.
#pragma once

#include <atomic>
#include <chrono>
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
  // Returns once an event is queued (at once if one is), or `timeout` passed, or at once after
  // Interrupt: false only when the timeout passed. May return true early (a signal); the caller
  // drains and decides again.
  bool WaitForEvents(std::chrono::nanoseconds timeout);
  // Ends a WaitForEvents in progress and makes every later one return at once (shutdown).
  void Interrupt() noexcept;

  uint64_t recorded() const { return recorded_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  size_t capacity() const { return mask_ + 1; }

 private:
  struct Slot;
  void WakeConsumer() noexcept;

  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<uint64_t> head_{0};  // next position a producer claims
  alignas(64) uint64_t tail_ = 0;              // next position the consumer reads
  // 1 while the consumer sleeps in WaitForEvents (a futex word); the waker sets it back to 0.
  alignas(64) std::atomic<uint32_t> asleep_{0};
  std::atomic<bool> interrupted_{false};
  std::atomic<uint64_t> recorded_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace shadowfs::predict
