#include "blobstore/base/executor.h"

#include <gtest/gtest.h>

#include <atomic>

namespace shadowfs::base {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool("test", 3, 4);  // a small queue exercises Submit's backpressure
    for (int i = 0; i < 500; ++i) pool.Submit([&] { ran++; });
  }
  EXPECT_EQ(ran.load(), 500);
}

}  // namespace
}  // namespace shadowfs::base
