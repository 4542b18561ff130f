// predict_workload: the six access shapes of the prediction benchmark (issue 5), as real file
// operations on a directory (a mount), each printing one JSON line: reads (latency samples), bytes,
// p50_ms, p99_ms (per open+read, or per read call for large files), wall_s, errors.
//
//   predict_workload setup SHAPE --dir LOCAL_DIR [--quick] [sizes]   writes the data set
//   predict_workload run SHAPE --dir MOUNT_DIR [--quick] [sizes]     reads it, prints JSON
//
// SHAPE: ml, build, etl, seq, columnar, interactive. `setup` writes the files locally for the
// harness to upload; `run` must be given the same sizes. Every byte range read is checked against
// the content setup wrote (workload_io.h), so a system that returns wrong data shows errors > 0.
// All choices (shuffles, offsets) are seeded: every system sees the same sequence of reads.
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/predict/workload_io.h"

namespace shadowfs::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Sizes {
  // ml: epochs over small files, reshuffled each epoch, read by a few loader threads.
  int ml_files = 5000, ml_kib = 16, ml_epochs = 3, ml_threads = 4;
  // The shuffle's seed: a training run (shadowfs-trained) uses another, so that the measured run
  // cannot be predicted by remembering the training run's order.
  int ml_seed = 1;
  // build: a header tree read in one fixed include order, once per compile.
  int build_headers = 400, build_kib = 8, build_runs = 5;
  // etl: one date=YYYY-MM-DD/ partition read at the same time of every simulated day.
  int etl_days = 5, etl_parts = 8, etl_kib = 512;
  int etl_first_day = 0;  // run: the first day's partition (a trained run goes on after 5 days)
  double etl_time_scale = 1440;  // simulated seconds per real second (a day = 60 s)
  double etl_anchor_real = 0;    // run: day 0's job starts at this real Unix time (0: now)
  // seq: large files read start to end in 1 MiB calls.
  int seq_files = 1, seq_mib = 1024;
  // columnar: per query and file, the footer then a few column chunks at random offsets.
  int col_files = 100, col_mib = 4, col_chunk_kib = 256, col_columns = 4, col_queries = 3;
  // interactive: ls -R, grep, cat over one project tree, then the same over another.
  int int_projects = 2, int_dirs = 20, int_files = 10, int_kib = 8, int_rounds = 3;

  void Quick() {
    ml_files = 200, ml_kib = 4, ml_epochs = 2;
    build_headers = 60, build_runs = 3;
    etl_days = 3, etl_parts = 4, etl_kib = 64, etl_time_scale = 4320;
    seq_mib = 64;
    col_files = 10, col_mib = 2, col_chunk_kib = 64;
    int_dirs = 4, int_files = 5, int_rounds = 2;
  }
};

std::string Num(int i, int width) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*d", width, i);
  return buf;
}

std::string MlFile(int i) { return "ml/train/shard-" + Num(i, 5) + ".bin"; }
std::string BuildHeader(int i) {
  return "build/include/lib" + Num(i % 10, 2) + "/h" + Num(i, 4) + ".h";
}
std::string SeqFile(int i) { return "seq/big-" + Num(i, 2) + ".bin"; }
std::string ColFile(int i) { return "columnar/table/part-" + Num(i, 5) + ".parquet"; }
std::string IntFile(int p, int d, int f) {
  return "interactive/project-" + std::string(1, static_cast<char>('a' + p)) + "/src/mod" +
         Num(d, 3) + "/file" + Num(f, 3) + ".c";
}

// The ETL job's partitions: consecutive days from 2026-01-01.
std::string EtlDate(int day) {
  std::tm tm{};
  tm.tm_year = 126, tm.tm_mon = 0, tm.tm_mday = 1 + day, tm.tm_hour = 12;
  std::time_t t = timegm(&tm);
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}
std::string EtlFile(int day, int part) {
  return "etl/events/date=" + EtlDate(day) + "/part-" + Num(part, 5) + ".parquet";
}

constexpr uint64_t kKiB = 1024, kMiB = 1024 * 1024;

bool Setup(const std::string& shape, const Sizes& z, const std::string& dir) {
  bool ok = true;
  auto write = [&](const std::string& rel, uint64_t size, Content c) {
    ok = ok && WriteFile(dir, rel, size, c);
  };
  if (shape == "ml") {
    for (int i = 0; i < z.ml_files; ++i) write(MlFile(i), z.ml_kib * kKiB, Content::kBinary);
  } else if (shape == "build") {
    for (int i = 0; i < z.build_headers; ++i) {
      write(BuildHeader(i), z.build_kib * kKiB, Content::kText);
    }
  } else if (shape == "etl") {
    for (int d = 0; d < z.etl_days; ++d) {
      for (int p = 0; p < z.etl_parts; ++p)
        write(EtlFile(d, p), z.etl_kib * kKiB, Content::kBinary);
    }
  } else if (shape == "seq") {
    for (int i = 0; i < z.seq_files; ++i) write(SeqFile(i), z.seq_mib * kMiB, Content::kBinary);
  } else if (shape == "columnar") {
    for (int i = 0; i < z.col_files; ++i) write(ColFile(i), z.col_mib * kMiB, Content::kBinary);
  } else if (shape == "interactive") {
    for (int p = 0; p < z.int_projects; ++p) {
      for (int d = 0; d < z.int_dirs; ++d) {
        for (int f = 0; f < z.int_files; ++f)
          write(IntFile(p, d, f), z.int_kib * kKiB, Content::kText);
      }
    }
  } else {
    std::fprintf(stderr, "predict_workload: unknown shape %s\n", shape.c_str());
    return false;
  }
  return ok;
}

void RunMl(Recorder* rec, const Sizes& z, const std::string& dir) {
  std::vector<int> order(static_cast<size_t>(z.ml_files));
  for (int i = 0; i < z.ml_files; ++i) order[static_cast<size_t>(i)] = i;
  Rng rng(static_cast<uint64_t>(z.ml_seed));
  for (int epoch = 0; epoch < z.ml_epochs; ++epoch) {
    rng.Shuffle(&order);
    // Loader threads take the epoch's files in order, like a DataLoader's workers.
    std::atomic<size_t> next{0};
    std::vector<std::thread> loaders;
    for (int t = 0; t < z.ml_threads; ++t) {
      loaders.emplace_back([&] {
        for (size_t i; (i = next++) < order.size();) {
          TimedRead(rec, dir, MlFile(order[i]), Content::kBinary);
        }
      });
    }
    for (auto& t : loaders) t.join();
  }
}

void RunBuild(Recorder* rec, const Sizes& z, const std::string& dir) {
  // The include order: fixed for the tree (seeded), the same in every compile.
  std::vector<int> order(static_cast<size_t>(z.build_headers));
  for (int i = 0; i < z.build_headers; ++i) order[static_cast<size_t>(i)] = i;
  Rng rng(2);
  rng.Shuffle(&order);
  for (int run = 0; run < z.build_runs; ++run) {
    for (int h : order) TimedRead(rec, dir, BuildHeader(h), Content::kText);
  }
}

// Returns the job time only: the sleeps between simulated days are not the workload's.
double RunEtl(Recorder* rec, const Sizes& z, const std::string& dir) {
  // The mount's calendar runs etl_time_scale times faster (--time-scale), so 86400 / scale real
  // seconds are one simulated day: the job starts at the same simulated time every day. With
  // --etl-anchor, day 0 starts at that real time, which the mount's --time-anchor maps to the
  // simulated time of the job.
  auto day = std::chrono::duration<double>(86400.0 / z.etl_time_scale);
  auto start = SteadyClock::now();
  if (z.etl_anchor_real > 0) {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    start += std::chrono::duration_cast<SteadyClock::duration>(
        std::chrono::duration<double>(z.etl_anchor_real - now));
  }
  double busy = 0;
  for (int d = 0; d < z.etl_days; ++d) {
    std::this_thread::sleep_until(start +
                                  std::chrono::duration_cast<SteadyClock::duration>(day * d));
    auto t0 = SteadyClock::now();
    for (int p = 0; p < z.etl_parts; ++p) {
      TimedRead(rec, dir, EtlFile(z.etl_first_day + d, p), Content::kBinary);
    }
    busy += std::chrono::duration<double>(SteadyClock::now() - t0).count();
  }
  return busy;
}

void RunSeq(Recorder* rec, const Sizes& z, const std::string& dir) {
  for (int i = 0; i < z.seq_files; ++i)
    TimedSequentialRead(rec, dir, SeqFile(i), Content::kBinary, kMiB);
}

void RunColumnar(Recorder* rec, const Sizes& z, const std::string& dir) {
  uint64_t size = z.col_mib * kMiB, chunk = z.col_chunk_kib * kKiB, footer = 64 * kKiB;
  uint64_t chunks = size > footer ? (size - footer) / chunk : 0;
  Rng rng(5);
  for (int q = 0; q < z.col_queries; ++q) {
    for (int i = 0; i < z.col_files; ++i) {
      TimedRead(rec, dir, ColFile(i), Content::kBinary, size - footer, footer);
      for (int c = 0; c < z.col_columns && chunks > 0; ++c) {
        TimedRead(rec, dir, ColFile(i), Content::kBinary, rng.Below(chunks) * chunk, chunk);
      }
    }
  }
}

// ls -R of a tree: one sample per directory listed (entries stat'ed), no bytes.
void ListTree(Recorder* rec, const std::string& path) {
  auto t0 = SteadyClock::now();
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) {
    rec->Error(path + ": opendir failed");
    return;
  }
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::lstat((path + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      subdirs.push_back(path + "/" + name);
    }
  }
  ::closedir(d);
  rec->Add(SteadyClock::now() - t0, 0);
  for (const std::string& s : subdirs) ListTree(rec, s);
}

void RunInteractive(Recorder* rec, const Sizes& z, const std::string& dir) {
  Rng rng(6);
  for (int p = 0; p < z.int_projects; ++p) {
    std::string project = "interactive/project-" + std::string(1, static_cast<char>('a' + p));
    for (int round = 0; round < z.int_rounds; ++round) {
      ListTree(rec, dir + "/" + project);
      for (int d = 0; d < z.int_dirs; ++d) {  // grep -r: every file, in directory order
        for (int f = 0; f < z.int_files; ++f) TimedRead(rec, dir, IntFile(p, d, f), Content::kText);
      }
      for (int i = 0; i < z.int_files; ++i) {  // cat of a few files here and there
        TimedRead(rec, dir,
                  IntFile(p, static_cast<int>(rng.Below(z.int_dirs)),
                          static_cast<int>(rng.Below(z.int_files))),
                  Content::kText);
      }
    }
  }
}

int Run(const std::string& shape, const Sizes& z, const std::string& dir) {
  // The process name the mount sees for this shape's reads (prediction keys on it).
  static const std::map<std::string, const char*> kNames = {
      {"ml", "python3"}, {"build", "cc1plus"},   {"etl", "etl-job"},
      {"seq", "dd"},     {"columnar", "duckdb"}, {"interactive", "grep"}};
  auto name = kNames.find(shape);
  if (name == kNames.end()) {
    std::fprintf(stderr, "predict_workload: unknown shape %s\n", shape.c_str());
    return 2;
  }
  ::prctl(PR_SET_NAME, name->second);
  Recorder rec;
  auto t0 = SteadyClock::now();
  double wall = -1;
  if (shape == "ml") RunMl(&rec, z, dir);
  if (shape == "build") RunBuild(&rec, z, dir);
  if (shape == "etl") wall = RunEtl(&rec, z, dir);
  if (shape == "seq") RunSeq(&rec, z, dir);
  if (shape == "columnar") RunColumnar(&rec, z, dir);
  if (shape == "interactive") RunInteractive(&rec, z, dir);
  if (wall < 0) wall = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  std::printf("%s\n", rec.Summary(shape, wall).c_str());
  return rec.errors() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace shadowfs::bench

int main(int argc, char** argv) {
  using shadowfs::bench::Sizes;
  CLI::App app{"Workloads of the prediction benchmark (tests/bench/README.md)"};
  app.require_subcommand(1);
  std::string shape, dir;
  bool quick = false;
  Sizes z;
  std::map<std::string, int*> ints = {{"ml-files", &z.ml_files},
                                      {"ml-kib", &z.ml_kib},
                                      {"ml-epochs", &z.ml_epochs},
                                      {"ml-threads", &z.ml_threads},
                                      {"ml-seed", &z.ml_seed},
                                      {"build-headers", &z.build_headers},
                                      {"build-kib", &z.build_kib},
                                      {"build-runs", &z.build_runs},
                                      {"etl-days", &z.etl_days},
                                      {"etl-first-day", &z.etl_first_day},
                                      {"etl-parts", &z.etl_parts},
                                      {"etl-kib", &z.etl_kib},
                                      {"seq-files", &z.seq_files},
                                      {"seq-mib", &z.seq_mib},
                                      {"col-files", &z.col_files},
                                      {"col-mib", &z.col_mib},
                                      {"col-chunk-kib", &z.col_chunk_kib},
                                      {"col-columns", &z.col_columns},
                                      {"col-queries", &z.col_queries},
                                      {"int-dirs", &z.int_dirs},
                                      {"int-files", &z.int_files},
                                      {"int-kib", &z.int_kib},
                                      {"int-rounds", &z.int_rounds}};
  // Sizes given on the command line override the defaults and --quick: collect them first.
  std::map<std::string, int> given;
  double time_scale = 0;
  for (const char* mode : {"setup", "run"}) {
    auto* cmd = app.add_subcommand(mode, std::string(mode) == "setup"
                                             ? "Write SHAPE's data set under --dir"
                                             : "Read SHAPE's data set under --dir, print JSON");
    cmd->add_option("shape", shape, "ml, build, etl, seq, columnar or interactive")->required();
    cmd->add_option("--dir", dir, "Where the data set is (setup: a local dir; run: the mount)")
        ->required();
    cmd->add_flag("--quick", quick, "Tiny sizes, to check the harness");
    cmd->add_option("--etl-time-scale", time_scale,
                    "Simulated seconds per real second; the mount's --time-scale");
    cmd->add_option("--etl-anchor", z.etl_anchor_real,
                    "Real Unix time of day 0's job; the REAL of the mount's --time-anchor");
    for (auto& [flag, target] : ints) cmd->add_option("--" + flag, given[flag]);
  }
  CLI11_PARSE(app, argc, argv);
  if (quick) z.Quick();
  for (auto& [flag, value] : given) {
    if (app.get_subcommands()[0]->count("--" + flag) > 0) *ints[flag] = value;
  }
  if (time_scale > 0) z.etl_time_scale = time_scale;
  if (app.got_subcommand("setup")) {
    return shadowfs::bench::Setup(shape, z, dir) ? 0 : 1;
  }
  return shadowfs::bench::Run(shape, z, dir);
}
