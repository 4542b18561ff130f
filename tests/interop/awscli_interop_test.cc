// Cross-client check: objects written by S3BlobStore read back byte-identical with Debian's AWS
// CLI, and objects the AWS CLI writes read back byte-identical through S3BlobStore, on RGW.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>

#include "blobstore/base/digest.h"
#include "blobstore/base/runtime.h"
#include "blobstore/s3/s3_blob_store.h"
#include "tests/support/rgw_env.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

constexpr char kAws[] = "/usr/bin/aws";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&out[i], &v, 8);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class AwsCliInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = LoadRgwEnv();
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = *env;
    s3::S3Config config;
    config.endpoint = env_.endpoint;
    config.region = env_.region;
    config.bucket = UniqueBucketName("awscli");
    config.credentials = {env_.access_key, env_.secret_key, "", "test"};
    auto store = s3::S3BlobStore::Create(config, runtime_.runtime());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->CreateBucket().ok());
    char dir[] = "/tmp/shadowfs-awscli-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }

  void TearDown() override {
    if (store_) {
      blobstore::ListOptions options;
      for (;;) {
        auto page = store_->List(options);
        if (!page.ok()) break;
        for (auto& o : page->objects) (void)store_->Delete(o.key);
        if (!page->truncated) break;
        options.continuation_token = page->next_continuation_token;
      }
      (void)store_->DeleteBucket();
    }
    if (!dir_.empty()) RunCommand({"/bin/rm", "-rf", dir_});
  }

  CommandResult Aws(std::vector<std::string> args) {
    std::vector<std::string> argv = {kAws, "--endpoint-url", env_.endpoint, "--no-cli-pager"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv,
                      {{"AWS_ACCESS_KEY_ID", env_.access_key},
                       {"AWS_SECRET_ACCESS_KEY", env_.secret_key},
                       {"AWS_DEFAULT_REGION", env_.region},
                       {"AWS_CONFIG_FILE", "/dev/null"},
                       {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
                       {"AWS_PROFILE", ""}},
                      std::chrono::seconds(300));
  }

  base::OwnedRuntime runtime_{base::OwnedRuntime::Time::kSystem};
  RgwEnv env_;
  std::unique_ptr<s3::S3BlobStore> store_;
  std::string dir_;
};

TEST_F(AwsCliInteropTest, WrittenByShadowfsReadByAwsCli) {
  struct Case {
    std::string key;
    size_t size;
  };
  // 40 MiB takes S3BlobStore's multipart path.
  for (const Case& c : {Case{"plain.bin", 5 << 20}, Case{"dir/with space+plus%25 ü.bin", 4096},
                        Case{"large/multipart.bin", 40 << 20}, Case{"empty", 0}}) {
    std::string data = RandomBytes(c.size, static_cast<uint32_t>(c.size));
    blobstore::PutOptions options;
    options.metadata = {{"mode", "33188"}, {"mtime", "1700000000"}};
    auto put = blobstore::PutString(*store_, c.key, data, options);
    ASSERT_TRUE(put.ok()) << c.key << ": " << put.status().ToString();

    std::string out = dir_ + "/out";
    auto r = Aws({"s3api", "get-object", "--bucket", store_->config().bucket, "--key", c.key, out});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(ReadFile(out) == data) << c.key << " differs when read by the AWS CLI";
    EXPECT_NE(r.output.find("\"mode\": \"33188\""), std::string::npos) << r.output;
  }
}

TEST_F(AwsCliInteropTest, WrittenByAwsCliReadByShadowfs) {
  // The AWS CLI switches to multipart (8 MiB parts) above 8 MiB.
  for (size_t size : {size_t{1}, size_t{3} << 20, size_t{30} << 20}) {
    std::string data = RandomBytes(size, static_cast<uint32_t>(size) + 1);
    std::string in = dir_ + "/in";
    {
      std::ofstream f(in, std::ios::binary);
      f.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    std::string key = "from-cli/size " + std::to_string(size);
    auto r = Aws({"s3", "cp", in, "s3://" + store_->config().bucket + "/" + key, "--metadata",
                  "mode=33261"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto back = blobstore::GetString(*store_, key);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == data) << key << " differs when read by shadowfs";
    auto head = store_->Head(key);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(head->size, size);
    EXPECT_EQ(head->metadata["mode"], "33261");
    // A ranged read across the AWS CLI's part boundary (8 MiB).
    if (size > (9u << 20)) {
      blobstore::GetOptions options;
      options.range = blobstore::ByteRange::Span((8u << 20) - 100, 200);
      auto part = blobstore::GetString(*store_, key, options);
      ASSERT_TRUE(part.ok());
      EXPECT_TRUE(*part == data.substr((8u << 20) - 100, 200));
    }
  }
}

}  // namespace
}  // namespace shadowfs::testing
