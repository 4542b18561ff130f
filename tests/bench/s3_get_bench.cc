// GET throughput of S3BlobStore, one stream and parallel ranged, against Debian's AWS CLI fetching
// the same object from the same RGW, written to files in the same directory. Prints a Markdown
// table with MB/s and the ratio to the AWS CLI. Run through tests/bench/run_s3_get_bench.sh,
// which starts and stops the RGW fixture.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "blobstore/base/runtime.h"
#include "blobstore/s3/s3_blob_store.h"
#include "tests/support/rgw_env.h"
#include "tests/support/subprocess.h"

namespace shadowfs::bench {
namespace {

using testing::RgwEnv;

double Seconds(const std::function<bool()>& fn, bool* ok) {
  auto start = std::chrono::steady_clock::now();
  *ok = fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::unique_ptr<s3::S3BlobStore> MakeStore(const RgwEnv& env, const std::string& bucket,
                                           base::Runtime runtime, int parallelism,
                                           uint64_t parallel_threshold) {
  s3::S3Config config;
  config.endpoint = env.endpoint;
  config.region = env.region;
  config.bucket = bucket;
  config.credentials = {env.access_key, env.secret_key, "", "bench"};
  config.parallelism = parallelism;
  config.parallel_get_threshold = parallel_threshold;
  auto store = s3::S3BlobStore::Create(config, runtime);
  if (!store.ok()) {
    std::fprintf(stderr, "bench: %s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*store);
}

bool GetToFile(s3::S3BlobStore& store, const std::string& key, const std::string& path,
               uint64_t size) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  blobstore::FileSink sink(fd);
  auto r = store.Get(key, {}, sink);
  close(fd);
  if (!r.ok()) std::fprintf(stderr, "bench: get failed: %s\n", r.status().ToString().c_str());
  return r.ok() && r->length == size;
}

int Run(int argc, char** argv) {
  uint64_t size_mib = 1024;
  int runs = 3;
  std::string dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--size-mib") size_mib = std::stoull(argv[i + 1]);
    if (flag == "--runs") runs = std::stoi(argv[i + 1]);
    if (flag == "--dir") dir = argv[i + 1];
  }
  auto env = testing::LoadRgwEnv();
  if (!env.ok()) {
    std::fprintf(stderr, "bench: %s\n", env.status().ToString().c_str());
    return 1;
  }
  base::OwnedRuntime owned(base::OwnedRuntime::Time::kSystem);
  const std::string bucket = testing::UniqueBucketName("bench-get");
  const std::string key = "bench/object.bin";
  const uint64_t size = size_mib << 20;
  auto parallel = MakeStore(*env, bucket, owned.runtime(), 8, 16ull << 20);
  auto single = MakeStore(*env, bucket, owned.runtime(), 1, UINT64_MAX);
  if (!parallel->CreateBucket().ok()) return 1;

  // Upload from a file of pseudo-random (incompressible) bytes.
  const std::string src = dir + "/shadowfs-bench-src.bin";
  {
    int fd = open(src.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    std::mt19937_64 rng(1);
    std::vector<uint64_t> block(1 << 17);
    for (uint64_t done = 0; done < size; done += block.size() * 8) {
      for (auto& v : block) v = rng();
      if (write(fd, block.data(), block.size() * 8) < 0) return 1;
    }
    blobstore::FileSource source(fd, size);
    auto put = parallel->Put(key, source, {});
    close(fd);
    unlink(src.c_str());
    if (!put.ok()) {
      std::fprintf(stderr, "bench: upload failed: %s\n", put.status().ToString().c_str());
      return 1;
    }
  }

  const std::string out = dir + "/shadowfs-bench-out.bin";
  const std::map<std::string, std::string> aws_env = {
      {"AWS_ACCESS_KEY_ID", env->access_key},       {"AWS_SECRET_ACCESS_KEY", env->secret_key},
      {"AWS_DEFAULT_REGION", env->region},          {"AWS_CONFIG_FILE", "/dev/null"},
      {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"}, {"AWS_PROFILE", ""}};
  auto aws = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/aws", "--endpoint-url", env->endpoint};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = testing::RunCommand(argv, aws_env, std::chrono::seconds(600));
    if (r.exit_code != 0) std::fprintf(stderr, "bench: aws failed: %s\n", r.output.c_str());
    return r.exit_code == 0;
  };

  struct Contender {
    std::string name;
    std::function<bool()> fn;
    double best = 1e30;
  };
  std::vector<Contender> contenders = {
      {"AWS CLI `s3 cp` (10 parallel 8 MiB parts)",
       [&] {
         return aws({"s3", "cp", "--quiet", "s3://" + bucket + "/" + key, out});
       }},
      {"AWS CLI `s3api get-object` (one stream)",
       [&] {
         return aws({"s3api", "get-object", "--bucket", bucket, "--key", key, out});
       }},
      {"S3BlobStore, one stream", [&] { return GetToFile(*single, key, out, size); }},
      {"S3BlobStore, 8 parallel 8 MiB ranges",
       [&] { return GetToFile(*parallel, key, out, size); }},
  };
  // Interleave the contenders so that drift in the machine's load hits all of them alike.
  for (int run = 0; run < runs; ++run) {
    for (auto& c : contenders) {
      bool ok = false;
      double s = Seconds(c.fn, &ok);
      if (!ok) return 1;
      c.best = std::min(c.best, s);
    }
  }
  unlink(out.c_str());
  (void)parallel->Delete(key);
  (void)parallel->DeleteBucket();

  double mb = static_cast<double>(size) / 1e6;
  double aws_cp = mb / contenders[0].best, aws_single = mb / contenders[1].best;
  std::printf("GET of a %llu MiB object from RGW on 127.0.0.1, best of %d runs\n\n",
              static_cast<unsigned long long>(size_mib), runs);
  std::printf("| client | MB/s | vs `aws s3 cp` | vs `aws s3api get-object` |\n");
  std::printf("|---|---:|---:|---:|\n");
  for (auto& c : contenders) {
    double rate = mb / c.best;
    std::printf("| %s | %.0f | %.2fx | %.2fx |\n", c.name.c_str(), rate, rate / aws_cp,
                rate / aws_single);
  }
  return 0;
}

}  // namespace
}  // namespace shadowfs::bench

int main(int argc, char** argv) { return shadowfs::bench::Run(argc, argv); }
