#include "blobstore/base/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace shadowfs::base {
namespace {

TEST(MetricsTest, SameNameAndLabelsIsTheSameMetric) {
  MetricsRegistry registry;
  Counter& a = registry.GetCounter("shadowfs_test_total", "help", {{"op", "get"}});
  Counter& b = registry.GetCounter("shadowfs_test_total", "help", {{"op", "get"}});
  Counter& c = registry.GetCounter("shadowfs_test_total", "help", {{"op", "put"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
}

TEST(MetricsTest, CountersAreExactUnderConcurrency) {
  MetricsRegistry registry;
  Counter& counter = registry.GetCounter("shadowfs_hits_total", "hits");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) counter.Increment();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), 40000u);
}

TEST(MetricsTest, PrometheusTextFormat) {
  MetricsRegistry registry;
  registry.GetCounter("shadowfs_requests_total", "Requests.", {{"op", "get"}}).Increment(3);
  registry.GetGauge("shadowfs_store_bytes", "Bytes used.").Set(1.5);
  auto& h =
      registry.GetHistogram("shadowfs_latency_seconds", "Latency.", {{"op", "get"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string text = registry.ExportPrometheus();
  EXPECT_NE(text.find("# TYPE shadowfs_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("shadowfs_requests_total{op=\"get\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("shadowfs_store_bytes 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("shadowfs_latency_seconds_bucket{op=\"get\",le=\"0.10000000000000001\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("shadowfs_latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("shadowfs_latency_seconds_count{op=\"get\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, HistogramQuantile) {
  Histogram h({1, 2, 3, 4});
  for (int i = 0; i < 100; ++i) h.Observe(0.5 + (i % 4));
  EXPECT_NEAR(h.Quantile(0.5), 2.0, 0.01);
  EXPECT_LE(h.Quantile(0.99), 4.0);
}

}  // namespace
}  // namespace shadowfs::base
