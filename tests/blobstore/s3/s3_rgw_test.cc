// S3-specific behaviour against Ceph RGW (the ctest fixture "rgw"): versioning, multipart abort,
// conditional writes (single and multipart), and the errors a user sees for bad credentials,
// missing buckets and unreachable endpoints.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "blobstore/base/digest.h"
#include "blobstore/base/runtime.h"
#include "blobstore/s3/s3_blob_store.h"
#include "tests/blobstore/s3/rgw_test_env.h"

namespace shadowfs::s3::testing {
namespace {

using blobstore::ByteSource;
using blobstore::GetOptions;
using blobstore::PutOptions;
using blobstore::StringSource;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

// A body whose reads fail from `fail_at` on, like a file that turns unreadable mid-upload.
class FailingSource final : public ByteSource {
 public:
  FailingSource(std::string data, uint64_t fail_at) : data_(std::move(data)), fail_at_(fail_at) {}
  uint64_t size() const override { return data_.size(); }
  base::Status ReadAt(uint64_t offset, std::span<char> out) override {
    if (offset + out.size() > fail_at_) return base::Status::IOError("injected read failure");
    std::memcpy(out.data(), data_.data() + offset, out.size());
    return base::Status::Ok();
  }

 private:
  std::string data_;
  uint64_t fail_at_;
};

// A port on 127.0.0.1 that nothing listens on.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class S3RgwTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = LoadRgwEnv();
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = *env;
  }

  std::unique_ptr<ScratchBucket> Bucket(const std::function<void(S3Config&)>& tweak = {}) {
    auto bucket = ScratchBucket::Create(env_, tweak);
    EXPECT_TRUE(bucket.ok()) << bucket.status().ToString();
    return bucket.ok() ? std::move(bucket).value() : nullptr;
  }

  // A store on the fixture's RGW, but with the config changed after the fact (no bucket made).
  std::unique_ptr<S3BlobStore> Store(const std::function<void(S3Config&)>& tweak) {
    S3Config config = RgwConfig(env_, UniqueBucketName("s3-rgw"));
    tweak(config);
    auto store = S3BlobStore::Create(config, runtime_.runtime());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  RgwEnv env_;
  base::OwnedRuntime runtime_{base::OwnedRuntime::Time::kSystem};
};

TEST_F(S3RgwTest, VersionedBucketListsAndReadsOldVersions) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  ASSERT_TRUE(bucket->s3().SetVersioning(true).ok());
  auto v1 = blobstore::PutString(*bucket, "doc", "version one");
  auto v2 = blobstore::PutString(*bucket, "doc", "version two");
  ASSERT_TRUE(v1.ok() && v2.ok());
  ASSERT_FALSE(v1->version_id.empty());
  ASSERT_FALSE(v2->version_id.empty());
  EXPECT_NE(v1->version_id, v2->version_id);

  auto versions = bucket->s3().ListVersions("doc");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 2u);
  int latest = 0;
  for (const auto& v : *versions) {
    EXPECT_EQ(v.key, "doc");
    EXPECT_FALSE(v.is_delete_marker);
    if (v.is_latest) {
      ++latest;
      EXPECT_EQ(v.version_id, v2->version_id);
      EXPECT_EQ(v.etag, base::Md5Hex("version two"));
    }
  }
  EXPECT_EQ(latest, 1);

  GetOptions old;
  old.version_id = v1->version_id;
  auto text = blobstore::GetString(*bucket, "doc", old);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "version one");

  // Deleting the key leaves a delete marker; the old versions stay readable by id.
  ASSERT_TRUE(bucket->Delete("doc").ok());
  EXPECT_TRUE(bucket->Head("doc").status().IsNotFound());
  versions = bucket->s3().ListVersions("doc");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 3u);
  EXPECT_EQ(*blobstore::GetString(*bucket, "doc", old), "version one");

  ASSERT_TRUE(bucket->s3().DeleteVersion("doc", v1->version_id).ok());
  blobstore::StringSink sink;
  EXPECT_FALSE(bucket->Get("doc", old, sink).ok());
}

TEST_F(S3RgwTest, FailedMultipartUploadIsAbortedAndLeavesNoParts) {
  auto bucket = Bucket([](S3Config& c) {
    c.multipart_threshold = 6u << 20;
    c.part_size = 5u << 20;
    c.parallelism = 2;
  });
  ASSERT_NE(bucket, nullptr);
  // Four parts; reads fail from 12 MiB on, so parts 1-2 upload and part 3 fails.
  FailingSource source(RandomBytes(18u << 20, 1), 12u << 20);
  auto put = bucket->Put("big/failing", source, {});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), base::StatusCode::kIOError) << put.status().ToString();
  EXPECT_NE(put.status().message().find("injected read failure"), std::string::npos);

  auto uploads = bucket->s3().ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok()) << uploads.status().ToString();
  EXPECT_TRUE(uploads->empty()) << uploads->size() << " multipart uploads left behind";
  EXPECT_TRUE(bucket->Head("big/failing").status().IsNotFound());
}

TEST_F(S3RgwTest, ListAndAbortMultipartUploads) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  auto uploads = bucket->s3().ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok()) << uploads.status().ToString();
  EXPECT_TRUE(uploads->empty());
  EXPECT_TRUE(bucket->s3().AbortMultipartUpload("nothing", "no-such-upload").IsNotFound());
}

TEST_F(S3RgwTest, ConditionalWritesAreSupportedAndTheProbeCleansUp) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  auto supported = bucket->SupportsConditionalWrites();
  ASSERT_TRUE(supported.ok()) << supported.status().ToString();
  EXPECT_TRUE(*supported);
  auto versions = bucket->s3().ListVersions("");
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(versions->empty()) << "the probe left " << versions->front().key;

  // RGW matches only an unquoted ETag on PUT: the probe must have found that form.
  ASSERT_TRUE(blobstore::PutString(*bucket, "k", "one").ok());
  PutOptions update;
  update.conditions.if_match = base::Md5Hex("one");
  EXPECT_TRUE(blobstore::PutString(*bucket, "k", "two", update).ok());
  EXPECT_TRUE(blobstore::PutString(*bucket, "k", "three", update).status().IsConflict());
}

TEST_F(S3RgwTest, ConditionalMultipartWrites) {
  auto bucket = Bucket([](S3Config& c) {
    c.multipart_threshold = 6u << 20;
    c.part_size = 5u << 20;
  });
  ASSERT_NE(bucket, nullptr);
  const std::string first = RandomBytes(7u << 20, 2);
  const std::string second = RandomBytes(7u << 20, 3);
  // Unconditional writes of this size go multipart.
  auto plain = blobstore::PutString(*bucket, "plain", first);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE(plain->etag.ends_with("-2")) << plain->etag;
  EXPECT_EQ(bucket->Head("plain")->etag, plain->etag);

  // Conditional ones must honour their conditions whatever path they take (RGW 16 ignores
  // conditions on CompleteMultipartUpload, so there they become single PUTs).
  PutOptions create;
  create.conditions.if_none_match = "*";
  auto made = blobstore::PutString(*bucket, "mp", first, create);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(bucket->Head("mp")->etag, made->etag);

  auto again = blobstore::PutString(*bucket, "mp", second, create);
  EXPECT_TRUE(again.status().IsConflict()) << again.status().ToString();

  PutOptions stale;
  stale.conditions.if_match = base::Md5Hex("not the current content");
  EXPECT_TRUE(blobstore::PutString(*bucket, "mp", second, stale).status().IsConflict());

  PutOptions current;
  current.conditions.if_match = made->etag;
  auto replaced = blobstore::PutString(*bucket, "mp", second, current);
  EXPECT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_TRUE(*blobstore::GetString(*bucket, "mp") == second);
  // Failed completions must not leave their parts behind either.
  EXPECT_TRUE(bucket->s3().ListMultipartUploads("")->empty());
}

TEST_F(S3RgwTest, BadSecretIsPermissionDeniedWithAnActionableMessage) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  auto store = Store([&](S3Config& c) {
    c.bucket = bucket->s3().config().bucket;
    c.credentials.secret_access_key = "wrong-secret";
    c.credentials.source = "a test";
  });
  ASSERT_NE(store, nullptr);
  auto status = store->CheckAccess();
  EXPECT_EQ(status.code(), base::StatusCode::kPermissionDenied) << status.ToString();
  EXPECT_NE(status.message().find("SignatureDoesNotMatch"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("secret key"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("a test"), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find("wrong-secret"), std::string::npos) << "secret in a message";
  EXPECT_EQ(store->Head("x").status().code(), base::StatusCode::kPermissionDenied);
  EXPECT_EQ(blobstore::PutString(*store, "x", "y").status().code(),
            base::StatusCode::kPermissionDenied);
}

TEST_F(S3RgwTest, UnknownAccessKeyIsPermissionDenied) {
  auto store = Store([](S3Config& c) { c.credentials.access_key_id = "NOSUCHKEY"; });
  ASSERT_NE(store, nullptr);
  auto status = store->CheckAccess();
  EXPECT_EQ(status.code(), base::StatusCode::kPermissionDenied) << status.ToString();
  EXPECT_NE(status.message().find("NOSUCHKEY"), std::string::npos) << status.message();
}

TEST_F(S3RgwTest, MissingBucketIsNotFoundNamingTheBucket) {
  auto store = Store([](S3Config&) {});
  ASSERT_NE(store, nullptr);
  const std::string bucket = store->config().bucket;
  auto check = store->CheckAccess();
  EXPECT_TRUE(check.IsNotFound()) << check.ToString();
  EXPECT_NE(check.message().find(bucket), std::string::npos) << check.message();
  auto list = store->List({});
  EXPECT_TRUE(list.status().IsNotFound()) << list.status().ToString();
  EXPECT_NE(list.status().message().find(bucket), std::string::npos);
  blobstore::StringSink sink;
  auto get = store->Get("k", {}, sink);
  EXPECT_TRUE(get.status().IsNotFound()) << get.status().ToString();
  EXPECT_NE(get.status().message().find(bucket), std::string::npos);
  EXPECT_TRUE(store->Delete("k").IsNotFound());
}

TEST_F(S3RgwTest, UnreachableEndpointIsUnavailableAfterRetries) {
  // Fake time: the backoff between attempts costs nothing; only the refused connects are real.
  base::OwnedRuntime fake;
  S3Config config = RgwConfig(env_, "some-bucket");
  config.endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort());
  config.retry.max_attempts = 4;
  config.connect_timeout = std::chrono::seconds(2);
  auto store = S3BlobStore::Create(config, fake.runtime());
  ASSERT_TRUE(store.ok());
  auto head = (*store)->Head("some/key");
  ASSERT_EQ(head.status().code(), base::StatusCode::kUnavailable) << head.status().ToString();
  const std::string& message = head.status().message();
  EXPECT_NE(message.find("head"), std::string::npos) << message;
  EXPECT_NE(message.find("some/key"), std::string::npos) << message;
  EXPECT_NE(message.find("4 attempts"), std::string::npos) << message;
  EXPECT_NE(message.find("onnect"), std::string::npos) << message;  // the last error
  EXPECT_GT(fake.fake_clock()->slept().count(), 0);
  EXPECT_NE(fake.metrics().ExportPrometheus().find("shadowfs_s3_retries_total{op=\"head\"} 3"),
            std::string::npos)
      << fake.metrics().ExportPrometheus();
}

TEST_F(S3RgwTest, MetricsCountRequestsBytesAndLatency) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  ASSERT_TRUE(blobstore::PutString(*bucket, "m", std::string(1000, 'x')).ok());
  ASSERT_TRUE(blobstore::GetString(*bucket, "m").ok());
  EXPECT_TRUE(bucket->Head("missing").status().IsNotFound());
  const std::string text = bucket->metrics().ExportPrometheus();
  EXPECT_NE(text.find("shadowfs_s3_requests_total{op=\"put\",code=\"2xx\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("shadowfs_s3_requests_total{op=\"head\",code=\"4xx\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("shadowfs_s3_sent_bytes_total 1000"), std::string::npos) << text;
  EXPECT_NE(text.find("shadowfs_s3_request_seconds_count{op=\"get\"} 1"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace shadowfs::s3::testing
