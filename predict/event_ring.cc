#include "predict/event_ring.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <ctime>
#include <utility>

namespace shadowfs::predict {

// A slot's sequence number says whose turn it is. For the slot at position p (index p & mask):
//   seq == p      free: the producer that claims position p may write it
//   seq == p + 1  full: the event of position p is published, the consumer may take it
// After taking it the consumer sets seq = p + capacity, which frees the slot for the producer of
// the next lap. The release store of seq publishes the event; the acquire load on the other side
// makes it visible, so the event itself needs no atomics.
struct alignas(64) EventRing::Slot {
  std::atomic<uint64_t> seq{0};
  AccessEvent event;
};

EventRing::EventRing(size_t capacity)
    : mask_(std::bit_ceil(std::max<size_t>(capacity, 2)) - 1),
      slots_(std::make_unique<Slot[]>(mask_ + 1)) {
  for (size_t i = 0; i <= mask_; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
}

EventRing::~EventRing() = default;

void EventRing::Record(const AccessEvent& event) noexcept {
  uint64_t pos = head_.load(std::memory_order_relaxed);
  Slot* slot;
  for (;;) {
    slot = &slots_[pos & mask_];
    const uint64_t seq = slot->seq.load(std::memory_order_acquire);
    const auto lag = static_cast<int64_t>(seq - pos);
    if (lag == 0) {
      // Free for this lap: claim it. On failure pos is reloaded with the current head.
      if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (lag < 0) {
      // The slot still holds the event of the previous lap: the ring is full. Dropping keeps the
      // read path from ever waiting for the consumer.
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    } else {
      // Another producer claimed pos since we read head_; try the newest position.
      pos = head_.load(std::memory_order_relaxed);
    }
  }
  // Copy-assigning the two shared_ptrs only bumps reference counts: the slot's own pointers are
  // empty because Drain moved them out.
  slot->event = event;
  slot->seq.store(pos + 1, std::memory_order_release);
  recorded_.fetch_add(1, std::memory_order_relaxed);
  // Pairs with the fence in WaitForEvents: either the consumer sees this event before it
  // sleeps, or this load sees that it sleeps.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (asleep_.load(std::memory_order_relaxed) != 0) WakeConsumer();
}

void EventRing::WakeConsumer() noexcept {
  if (asleep_.exchange(0, std::memory_order_acq_rel) == 0) return;  // awake, or woken already
  syscall(SYS_futex, &asleep_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void EventRing::Interrupt() noexcept {
  interrupted_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // as Record's
  if (asleep_.load(std::memory_order_relaxed) != 0) WakeConsumer();
}

bool EventRing::WaitForEvents(std::chrono::nanoseconds timeout) {
  asleep_.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // An event published (or Interrupt called) before the fence is seen here; one published after
  // sees asleep_ and wakes us (the futex returns at once if asleep_ is 0 by then).
  bool timed_out = false;
  if (slots_[tail_ & mask_].seq.load(std::memory_order_acquire) != tail_ + 1 &&
      !interrupted_.load(std::memory_order_relaxed)) {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    timespec ts{.tv_sec = static_cast<time_t>(secs.count()),
                .tv_nsec = static_cast<long>((timeout - secs).count())};
    timed_out = syscall(SYS_futex, &asleep_, FUTEX_WAIT_PRIVATE, 1, &ts, nullptr, 0) == -1 &&
                errno == ETIMEDOUT;
  }
  asleep_.store(0, std::memory_order_relaxed);
  return !timed_out;
}

size_t EventRing::Drain(const std::function<void(AccessEvent&&)>& consume) {
  // Stop at the head seen now, so that producers that keep recording cannot keep one call
  // running forever.
  const uint64_t end = head_.load(std::memory_order_acquire);
  size_t n = 0;
  while (tail_ < end) {
    Slot& slot = slots_[tail_ & mask_];
    // A claimed slot whose producer has not finished writing stops the drain here: later events
    // wait for the next call so that they are handed over in claim order.
    if (slot.seq.load(std::memory_order_acquire) != tail_ + 1) break;
    AccessEvent event = std::move(slot.event);  // leaves the slot's shared_ptrs empty
    slot.seq.store(tail_ + mask_ + 1, std::memory_order_release);
    ++tail_;
    ++n;
    consume(std::move(event));
  }
  return n;
}

}  // namespace shadowfs::predict
