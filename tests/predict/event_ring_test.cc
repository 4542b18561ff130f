#include "predict/event_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace shadowfs::predict {
namespace {

AccessEvent Event(std::shared_ptr<const std::string> key, uint64_t offset) {
  AccessEvent e;
  e.key = std::move(key);
  e.process_name = std::make_shared<const std::string>("cat");
  e.offset = offset;
  e.length = 4096;
  return e;
}

std::vector<uint64_t> DrainOffsets(EventRing& ring) {
  std::vector<uint64_t> offsets;
  ring.Drain([&](AccessEvent&& e) { offsets.push_back(e.offset); });
  return offsets;
}

TEST(EventRingTest, CapacityIsRoundedUpToAPowerOfTwoOfAtLeastTwo) {
  EXPECT_EQ(EventRing(0).capacity(), 2u);
  EXPECT_EQ(EventRing(1).capacity(), 2u);
  EXPECT_EQ(EventRing(2).capacity(), 2u);
  EXPECT_EQ(EventRing(5).capacity(), 8u);
  EXPECT_EQ(EventRing(1024).capacity(), 1024u);
  EXPECT_EQ(EventRing(1025).capacity(), 2048u);
}

TEST(EventRingTest, DrainsInRecordOrderWithEveryField) {
  EventRing ring(8);
  auto key = std::make_shared<const std::string>("data/a.csv");
  for (uint64_t i = 0; i < 5; ++i) {
    AccessEvent e = Event(key, i * 100);
    e.time = base::FromUnixSeconds(1'700'000'000 + static_cast<int64_t>(i));
    e.from_shadow = (i % 2 == 1);
    ring.Record(e);
  }
  std::vector<AccessEvent> got;
  EXPECT_EQ(ring.Drain([&](AccessEvent&& e) { got.push_back(std::move(e)); }), 5u);
  ASSERT_EQ(got.size(), 5u);
  for (uint64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(*got[i].key, "data/a.csv");
    EXPECT_EQ(*got[i].process_name, "cat");
    EXPECT_EQ(got[i].offset, i * 100);
    EXPECT_EQ(got[i].length, 4096u);
    EXPECT_EQ(base::ToUnixSeconds(got[i].time), 1'700'000'000 + static_cast<int64_t>(i));
    EXPECT_EQ(got[i].from_shadow, i % 2 == 1);
  }
  EXPECT_EQ(ring.Drain([](AccessEvent&&) {}), 0u);
  EXPECT_EQ(ring.recorded(), 5u);
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(EventRingTest, KeepsOrderAcrossManyLapsOfTheRing) {
  EventRing ring(4);
  auto key = std::make_shared<const std::string>("k");
  uint64_t next = 0;
  for (int lap = 0; lap < 50; ++lap) {
    const uint64_t batch = 1 + lap % 4;  // 1..4 events, so the ring wraps at varying points
    for (uint64_t i = 0; i < batch; ++i) ring.Record(Event(key, next + i));
    std::vector<uint64_t> want;
    for (uint64_t i = 0; i < batch; ++i) want.push_back(next + i);
    EXPECT_EQ(DrainOffsets(ring), want) << "lap " << lap;
    next += batch;
  }
  EXPECT_EQ(ring.dropped(), 0u);
  EXPECT_EQ(ring.recorded(), next);
}

TEST(EventRingTest, FullRingDropsNewEventsAndCountsThem) {
  EventRing ring(4);
  auto key = std::make_shared<const std::string>("k");
  for (uint64_t i = 0; i < 10; ++i) ring.Record(Event(key, i));
  EXPECT_EQ(ring.recorded(), 4u);
  EXPECT_EQ(ring.dropped(), 6u);
  // The oldest events are kept; the ones that found it full are the ones lost.
  EXPECT_EQ(DrainOffsets(ring), (std::vector<uint64_t>{0, 1, 2, 3}));
  // Draining makes room again.
  ring.Record(Event(key, 42));
  EXPECT_EQ(DrainOffsets(ring), (std::vector<uint64_t>{42}));
  EXPECT_EQ(ring.dropped(), 6u);
}

TEST(EventRingTest, ReleasesTheEventsReferencesAfterDrain) {
  auto key = std::make_shared<const std::string>("k");
  auto proc = std::make_shared<const std::string>("python3");
  EventRing ring(4);
  for (uint64_t i = 0; i < 6; ++i) {  // 4 kept, 2 dropped
    AccessEvent e;
    e.key = key;
    e.process_name = proc;
    ring.Record(e);
  }
  EXPECT_EQ(key.use_count(), 1 + 4);  // a dropped event holds no reference
  EXPECT_EQ(ring.Drain([](AccessEvent&&) {}), 4u);
  EXPECT_EQ(key.use_count(), 1);
  EXPECT_EQ(proc.use_count(), 1);
}

TEST(EventRingTest, DestroyingTheRingReleasesUndrainedEvents) {
  auto key = std::make_shared<const std::string>("k");
  {
    EventRing ring(8);
    for (uint64_t i = 0; i < 3; ++i) ring.Record(Event(key, i));
    EXPECT_EQ(key.use_count(), 4);
  }
  EXPECT_EQ(key.use_count(), 1);
}

// Producers record `per_producer` events each, with their own key and increasing offsets, while
// one consumer drains until every producer has finished and the ring is empty.
struct ConcurrentRun {
  std::vector<std::vector<uint64_t>> offsets_by_producer;  // in the order they were drained
  uint64_t consumed = 0;
};

ConcurrentRun RunProducersAndConsumer(EventRing& ring, int producers, uint64_t per_producer) {
  std::vector<std::shared_ptr<const std::string>> keys;
  keys.reserve(producers);
  for (int p = 0; p < producers; ++p) {
    keys.push_back(std::make_shared<const std::string>(std::to_string(p)));
  }
  ConcurrentRun run;
  run.offsets_by_producer.resize(producers);
  std::atomic<bool> producers_done{false};
  std::thread consumer([&] {
    auto consume = [&](AccessEvent&& e) {
      run.offsets_by_producer[std::stoi(*e.key)].push_back(e.offset);
      ++run.consumed;
    };
    for (;;) {
      // Read the flag before draining: once it is set, every Record has returned, so this
      // drain sees all that is left.
      const bool done = producers_done.load(std::memory_order_acquire);
      if (ring.Drain(consume) == 0) {
        if (done) break;
        std::this_thread::yield();
      }
    }
  });
  std::vector<std::thread> threads;
  threads.reserve(producers);
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (uint64_t i = 0; i < per_producer; ++i) ring.Record(Event(keys[p], i));
    });
  }
  for (auto& t : threads) t.join();
  producers_done.store(true, std::memory_order_release);
  consumer.join();
  for (auto& key : keys) EXPECT_EQ(key.use_count(), 1) << "a reference leaked for " << *key;
  return run;
}

TEST(EventRingTest, ManyProducersLoseNothingWhenTheRingHasRoom) {
  constexpr int kProducers = 4;
  constexpr uint64_t kPerProducer = 20000;
  EventRing ring(kProducers * kPerProducer);  // room for everything: no drop is possible
  ConcurrentRun run = RunProducersAndConsumer(ring, kProducers, kPerProducer);
  EXPECT_EQ(ring.dropped(), 0u);
  EXPECT_EQ(ring.recorded(), kProducers * kPerProducer);
  EXPECT_EQ(run.consumed, kProducers * kPerProducer);
  for (int p = 0; p < kProducers; ++p) {
    const auto& got = run.offsets_by_producer[p];
    ASSERT_EQ(got.size(), kPerProducer) << "producer " << p;
    for (uint64_t i = 0; i < kPerProducer; ++i) {
      ASSERT_EQ(got[i], i) << "producer " << p << " event " << i;
    }
  }
}

TEST(EventRingTest, UnderContentionEveryEventIsConsumedOnceOrCountedAsDropped) {
  constexpr int kProducers = 4;
  constexpr uint64_t kPerProducer = 50000;
  EventRing ring(64);  // small, so that it fills up and wraps many times
  ConcurrentRun run = RunProducersAndConsumer(ring, kProducers, kPerProducer);
  EXPECT_EQ(run.consumed + ring.dropped(), kProducers * kPerProducer);
  EXPECT_EQ(ring.recorded(), run.consumed);
  for (int p = 0; p < kProducers; ++p) {
    // Each producer's surviving events arrive once each and in the order it recorded them.
    const auto& got = run.offsets_by_producer[p];
    for (size_t i = 1; i < got.size(); ++i) {
      ASSERT_LT(got[i - 1], got[i]) << "producer " << p << " at " << i;
    }
  }
}

TEST(EventRingTest, WaitForEventsReturnsAtOnceWhenAnEventIsQueuedOrAfterInterrupt) {
  EventRing ring(8);
  auto key = std::make_shared<const std::string>("k");
  ring.Record(Event(key, 1));
  EXPECT_TRUE(ring.WaitForEvents(std::chrono::seconds(30)));  // not a timeout
  EXPECT_EQ(DrainOffsets(ring), std::vector<uint64_t>{1});
  ring.Interrupt();
  EXPECT_TRUE(ring.WaitForEvents(std::chrono::seconds(30)));
  EXPECT_TRUE(ring.WaitForEvents(std::chrono::seconds(30)));
}

TEST(EventRingTest, WaitForEventsTimesOutWithNothingQueued) {
  EventRing ring(8);
  EXPECT_FALSE(ring.WaitForEvents(std::chrono::milliseconds(20)));
  EXPECT_TRUE(DrainOffsets(ring).empty());
}

// A sleeping consumer is woken by the next event, every time: a lost wake-up shows as a wait
// that timed out while the producer waited for its event to be consumed.
TEST(EventRingTest, ASleepingConsumerIsWokenByEveryFirstEvent) {
  constexpr uint64_t kRounds = 300;
  EventRing ring(8);
  auto key = std::make_shared<const std::string>("k");
  std::atomic<uint64_t> consumed{0};
  std::atomic<bool> timed_out{false};
  std::thread consumer([&] {
    while (consumed.load() < kRounds) {
      if (!ring.WaitForEvents(std::chrono::seconds(10))) {
        timed_out = true;
        return;
      }
      consumed += DrainOffsets(ring).size();
    }
  });
  for (uint64_t i = 0; i < kRounds && !timed_out; ++i) {
    // Alternate between recording at once (the consumer may still be awake) and after it has
    // had a moment to fall asleep, so that both paths of Record are taken.
    if (i % 2 == 1) std::this_thread::sleep_for(std::chrono::microseconds(200));
    ring.Record(Event(key, i));
    while (consumed.load() <= i && !timed_out) std::this_thread::yield();
  }
  consumer.join();
  EXPECT_FALSE(timed_out) << "a wake-up was lost";
  EXPECT_EQ(consumed.load(), kRounds);
}

}  // namespace
}  // namespace shadowfs::predict
