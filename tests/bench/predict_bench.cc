// predict_bench: the cost of the prediction engine's experts per access and their memory per
// tracked key (issue 5's targets: <= 5 us per access and <= 200 bytes per tracked file for the
// whole engine). Drives every expert (MakeExperts, no engine) with a synthetic mixed stream of
// 1M accesses over 100k keys: sequential reads of large files, a compiler's include chain,
// directory walks in order, shuffled epochs over a few directories, and random opens by a shell,
// with ticks once a simulated second and key recycling at capacity, as the engine would do.
//
// Then the same stream through a whole Engine (experts, learner, planner, accounting; a sink that
// completes every prefetch at once), for the per-access cost and state per key of the engine.
//
// Usage: predict_bench [accesses] [keys] [experts|engine]   (both parts unless one is named)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "blobstore/base/logging.h"
#include "blobstore/base/metrics.h"
#include "predict/engine.h"
#include "predict/experts/all.h"

namespace shadowfs::predict {
namespace {

constexpr size_t kFilesPerDir = 100;
constexpr size_t kBigFiles = 64;
constexpr uint64_t kBigSize = 256ull << 20;
constexpr uint64_t kSmallSize = 64 << 10;

std::string SmallName(size_t i) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "data/d%04zu/part-%05zu.bin", i / kFilesPerDir, i % kFilesPerDir);
  return buf;
}

// Lists the synthetic namespace from the names' pattern, as a cached primary listing would.
class SyntheticNames final : public NamespaceView {
 public:
  explicit SyntheticNames(size_t small_files) : small_files_(small_files) {}
  base::Result<std::vector<ObjectInfo>> ListDirectory(std::string_view dir, size_t limit) override {
    ++calls;
    std::vector<ObjectInfo> out;
    unsigned d = 0;
    if (std::sscanf(std::string(dir).c_str(), "data/d%u/", &d) != 1) return out;
    for (size_t i = 0; i < kFilesPerDir && out.size() < limit; ++i) {
      const size_t index = d * kFilesPerDir + i;
      if (index >= small_files_) break;
      out.push_back({SmallName(index), kSmallSize, "\"" + std::to_string(index) + "\""});
    }
    return out;
  }
  size_t calls = 0;

 private:
  size_t small_files_;
};

struct Op {
  uint32_t key;  // index into names
  uint8_t process;
  bool first_read;
  uint64_t offset;
  uint64_t length;
  uint64_t size;
};

std::vector<Op> MakeStream(size_t accesses, size_t small_files, std::mt19937_64& rng) {
  std::vector<Op> ops;
  ops.reserve(accesses);
  std::vector<uint64_t> stream_pos(kBigFiles, 0);
  size_t chain_pos = 0, walk_pos = 0, walk_dir = 0;
  std::vector<size_t> epoch_order;
  size_t epoch_pos = 0;
  const size_t epoch_dirs = 5;
  for (size_t i = 0; i < epoch_dirs * kFilesPerDir; ++i) epoch_order.push_back(i);
  std::uniform_real_distribution<double> u(0, 1);
  while (ops.size() < accesses) {
    const double r = u(rng);
    if (r < 0.30) {  // sequential reads of a large file, 1 MiB at a time
      const size_t f = rng() % kBigFiles;
      const uint64_t off = stream_pos[f];
      ops.push_back({static_cast<uint32_t>(small_files + f), 0, off == 0, off, 1 << 20, kBigSize});
      stream_pos[f] = off + (1 << 20) >= kBigSize ? 0 : off + (1 << 20);
    } else if (r < 0.55) {  // an include chain of 500 headers, over and over
      const size_t h = 10'000 + chain_pos;
      chain_pos = (chain_pos + 1) % 500;
      ops.push_back({static_cast<uint32_t>(h), 1, true, 0, kSmallSize, kSmallSize});
    } else if (r < 0.75) {  // a walk through directories in order
      const size_t f = 50'000 + walk_dir * kFilesPerDir + walk_pos;
      if (++walk_pos == kFilesPerDir) {
        walk_pos = 0;
        walk_dir = (walk_dir + 1) % 200;
      }
      ops.push_back({static_cast<uint32_t>(f % small_files), 2, true, 0, kSmallSize, kSmallSize});
    } else if (r < 0.85) {  // shuffled epochs over a few directories
      if (epoch_pos == 0) std::shuffle(epoch_order.begin(), epoch_order.end(), rng);
      const size_t f = 80'000 + epoch_order[epoch_pos];
      epoch_pos = (epoch_pos + 1) % epoch_order.size();
      ops.push_back({static_cast<uint32_t>(f % small_files), 3, true, 0, kSmallSize, kSmallSize});
    } else {  // a shell opening anything
      ops.push_back({static_cast<uint32_t>(rng() % small_files), 4, true, 0, 4096, kSmallSize});
    }
  }
  return ops;
}

int Run(size_t accesses, size_t total_keys) {
  const size_t small_files = total_keys - kBigFiles;
  std::vector<std::string> names;
  for (size_t i = 0; i < small_files; ++i) names.push_back(SmallName(i));
  for (size_t i = 0; i < kBigFiles; ++i) names.push_back("big/file" + std::to_string(i));
  std::vector<std::string> etags;
  for (size_t i = 0; i < names.size(); ++i) etags.push_back("\"" + std::to_string(i) + "\"");
  const char* processes[] = {"dd", "cc1", "spark", "python", "bash"};
  std::mt19937_64 rng(42);
  const std::vector<Op> ops = MakeStream(accesses, small_files, rng);

  KeyTable keys(total_keys);
  SyntheticNames view(small_files);
  ExpertsOptions options;
  auto experts = MakeExperts(options, &keys, &view);
  std::vector<double> expert_ns(experts.size(), 0);
  std::vector<Candidate> out;
  size_t candidates = 0, recycled = 0;
  base::WallTime now = base::FromUnixSeconds(1'800'000'000);
  double intern_ns = 0, observe_ns = 0, tick_ns = 0, recycle_ns = 0;
  using Clock = std::chrono::steady_clock;
  auto ns = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::nano>(b - a).count();
  };
  // Per-expert times are taken on every 16th access only (the clock reads cost ~20 ns each).
  size_t sampled = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    now += std::chrono::milliseconds(1);
    auto t0 = Clock::now();
    Access a;
    a.key = keys.Intern(names[op.key]);
    a.process = keys.Intern(processes[op.process]);
    keys.Touch(a.key, now);
    keys.Touch(a.process, now);
    a.key_name = keys.Name(a.key);
    a.process_name = keys.Name(a.process);
    a.etag = etags[op.key];
    a.object_size = op.size;
    a.offset = op.offset;
    a.length = op.length;
    a.time = now;
    a.first_read = op.first_read;
    auto t1 = Clock::now();
    intern_ns += ns(t0, t1);
    out.clear();
    if (i % 16 == 0) {
      ++sampled;
      for (size_t e = 0; e < experts.size(); ++e) {
        auto s = Clock::now();
        experts[e]->Observe(a, &out);
        expert_ns[e] += ns(s, Clock::now());
      }
    } else {
      for (auto& e : experts) e->Observe(a, &out);
    }
    auto t2 = Clock::now();
    observe_ns += ns(t1, t2);
    candidates += out.size();
    if (i % 1000 == 999) {
      for (auto& e : experts) e->Tick(now, &out);
      auto t3 = Clock::now();
      tick_ns += ns(t2, t3);
      if (keys.over_capacity()) {
        const std::vector<KeyId> old =
            keys.LeastRecent(keys.size() - keys.capacity() + keys.capacity() / 100);
        for (auto& e : experts) e->Forget(old);
        keys.Release(old);
        recycled += old.size();
      }
      recycle_ns += ns(t3, Clock::now());
    }
  }
  const double n = static_cast<double>(ops.size());
  size_t expert_bytes = 0;
  std::printf("predict_bench: %zu accesses over %zu keys (KeyTable capacity %zu)\n", ops.size(),
              total_keys, keys.capacity());
  std::printf("  observe, all experts    %8.0f ns/access\n", observe_ns / n);
  std::printf("  intern + touch          %8.0f ns/access\n", intern_ns / n);
  std::printf("  tick (1/s), amortized   %8.1f ns/access\n", tick_ns / n);
  std::printf("  recycle at capacity     %8.1f ns/access (%zu ids recycled)\n", recycle_ns / n,
              recycled);
  std::printf("  total                   %8.0f ns/access\n",
              (observe_ns + intern_ns + tick_ns + recycle_ns) / n);
  std::printf("  candidates              %8.2f per access; %zu listings\n", candidates / n,
              view.calls);
  std::printf("  per expert (sampled 1/16):\n");
  for (size_t e = 0; e < experts.size(); ++e) {
    const size_t bytes = experts[e]->MemoryBytes();
    expert_bytes += bytes;
    std::printf("    %-12s %7.0f ns/access %9zu bytes  %6.1f bytes/key\n",
                std::string(experts[e]->name()).c_str(), expert_ns[e] / sampled, bytes,
                static_cast<double>(bytes) / keys.size());
  }
  const size_t key_bytes = keys.MemoryBytes();
  std::printf("  key table               %9zu bytes  %6.1f bytes/key\n", key_bytes,
              static_cast<double>(key_bytes) / keys.size());
  std::printf("  state per tracked key   %8.1f bytes (%zu keys tracked)\n",
              static_cast<double>(key_bytes + expert_bytes) / keys.size(), keys.size());
  return 0;
}

// Accepts every prefetch and reports it done at once.
class InstantSink final : public base::PrefetchSink {
 public:
  InstantSink(base::Clock* clock) : clock_(clock) {}
  bool Offer(base::PrefetchRequest r) override {
    ++offers;
    if (engine) {
      engine->OnPrefetchDone({.key = r.key,
                              .offset = r.offset,
                              .length = r.length,
                              .ok = true,
                              .finished = clock_->Now()});
    }
    return true;
  }
  Engine* engine = nullptr;
  size_t offers = 0;

 private:
  base::Clock* const clock_;
};

int RunEngine(size_t accesses, size_t total_keys) {
  const size_t small_files = total_keys - kBigFiles;
  std::vector<std::shared_ptr<const std::string>> names, etags;
  for (size_t i = 0; i < small_files; ++i) {
    names.push_back(std::make_shared<const std::string>(SmallName(i)));
  }
  for (size_t i = 0; i < kBigFiles; ++i) {
    names.push_back(std::make_shared<const std::string>("big/file" + std::to_string(i)));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    etags.push_back(std::make_shared<const std::string>("\"" + std::to_string(i) + "\""));
  }
  std::vector<std::shared_ptr<const std::string>> processes;
  for (const char* p : {"dd", "cc1", "spark", "python", "bash"}) {
    processes.push_back(std::make_shared<const std::string>(p));
  }
  std::mt19937_64 rng(42);
  const std::vector<Op> ops = MakeStream(accesses, small_files, rng);

  base::FakeClock clock(base::FromUnixSeconds(1'800'000'000));
  base::StderrLogger logger(base::LogLevel::kError);
  base::MetricsRegistry metrics;
  SyntheticNames view(small_files);
  EngineOptions options;
  options.max_keys = total_keys;
  auto engine = Engine::Create(options, {&view, nullptr, {&clock, &logger, &metrics}});
  if (!engine.ok()) {
    std::fprintf(stderr, "predict_bench: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  InstantSink sink(&clock);
  sink.engine = engine->get();
  (*engine)->AttachSink(&sink);
  using Clock = std::chrono::steady_clock;
  double observe_ns = 0, tick_ns = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    clock.Advance(std::chrono::milliseconds(1));
    AccessEvent e;
    e.key = names[op.key];
    e.process_name = processes[op.process];
    e.etag = etags[op.key];
    e.object_size = op.size;
    e.offset = op.offset;
    e.length = op.length;
    e.time = clock.Now();
    e.first_read = op.first_read;
    auto t0 = Clock::now();
    (*engine)->Observe(e);
    auto t1 = Clock::now();
    observe_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
    if (i % 1000 == 999) {
      (*engine)->Tick();
      tick_ns += std::chrono::duration<double, std::nano>(Clock::now() - t1).count();
    }
  }
  const double n = static_cast<double>(ops.size());
  Accounting a = (*engine)->accounting();
  std::printf("engine: %zu accesses over %zu keys\n", ops.size(), total_keys);
  std::printf("  observe                 %8.0f ns/access\n", observe_ns / n);
  std::printf("  tick (1/s), amortized   %8.1f ns/access\n", tick_ns / n);
  std::printf("  total                   %8.0f ns/access\n", (observe_ns + tick_ns) / n);
  std::printf("  prefetches offered      %8zu; precision %.3f, coverage %.3f\n", sink.offers,
              a.overall.precision(), a.coverage());
  std::printf("  state per tracked key   %8.1f bytes (%llu bytes, %llu keys tracked)\n",
              static_cast<double>(a.memory_bytes) / static_cast<double>(a.tracked_keys),
              static_cast<unsigned long long>(a.memory_bytes),
              static_cast<unsigned long long>(a.tracked_keys));
  return 0;
}

}  // namespace
}  // namespace shadowfs::predict

int main(int argc, char** argv) {
  const size_t accesses = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const size_t keys = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100'000;
  const std::string part = argc > 3 ? argv[3] : "";
  if (keys < 100'000 || accesses == 0 || (part != "" && part != "experts" && part != "engine")) {
    std::fprintf(stderr, "usage: predict_bench [accesses] [keys >= 100000] [experts|engine]\n");
    return 2;
  }
  if (part != "engine") {
    int rc = shadowfs::predict::Run(accesses, keys);
    if (rc != 0) return rc;
  }
  return part == "experts" ? 0 : shadowfs::predict::RunEngine(accesses, keys);
}
