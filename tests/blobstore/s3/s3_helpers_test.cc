// Unit tests of the S3 client's building blocks that need no server: addressing, header
// conversions, retry policy, part sizing, error mapping, the parallel runner, config checks.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "blobstore/base/digest.h"
#include "blobstore/base/executor.h"
#include "blobstore/base/runtime.h"
#include "blobstore/s3/multipart_upload.h"
#include "blobstore/s3/object_headers.h"
#include "blobstore/s3/parallel_work.h"
#include "blobstore/s3/retry.h"
#include "blobstore/s3/s3_blob_store.h"
#include "blobstore/s3/s3_endpoint.h"
#include "blobstore/s3/s3_errors.h"
#include "tests/blobstore/s3/fake_http_peer.h"

namespace shadowfs::s3 {
namespace {

using base::StatusCode;

TEST(EndpointTest, ParsesHostPortAndScheme) {
  auto u = ParseEndpointUrl("http://127.0.0.1:7480");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 7480);
  u = ParseEndpointUrl("HTTPS://s3.eu-west-1.amazonaws.com/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->port, 0);
  u = ParseEndpointUrl("http://[::1]:9000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "[::1]");
  EXPECT_EQ(u->port, 9000);
}

TEST(EndpointTest, RejectsWhatItCannotUse) {
  for (const char* bad :
       {"", "127.0.0.1:7480", "ftp://host", "http://", "http://host:0", "http://host:65536",
        "http://host:12ab", "http://host:", "http://host/path", "http://user:pw@host",
        "http://host?x=1", "http://ho st", "http://[::1"}) {
    auto u = ParseEndpointUrl(bad);
    EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(EndpointTest, BucketNames) {
  for (const char* good : {"abc", "my-bucket.1", "a1b2c3", "shadowfs-t-1-2-abcdef12"}) {
    EXPECT_TRUE(ValidateBucketName(good, true).ok()) << good;
  }
  for (const char* bad : {"", "ab", "-abc", "abc-", "a..b", "192.168.1.1", "has space", "Upper",
                          "under_score", "a/b"}) {
    EXPECT_FALSE(ValidateBucketName(bad, true).ok()) << bad;
  }
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a'), true).ok());
  // Legacy names work path-style only.
  EXPECT_TRUE(ValidateBucketName("Legacy_Bucket", false).ok());
  EXPECT_TRUE(ValidateBucketName(std::string(100, 'a'), false).ok());
  EXPECT_FALSE(ValidateBucketName("a/b", false).ok());
}

TEST(EndpointTest, PathStyleAddressing) {
  auto e = S3Endpoint::Create("http://127.0.0.1:7480/", "us-east-1", "bkt", true);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host(), "127.0.0.1:7480");
  EXPECT_EQ(e->Path(""), "/bkt");
  EXPECT_EQ(e->Path("a b/c+d"), "/bkt/a%20b/c%2Bd");
  EXPECT_EQ(e->Url("k", "uploads="), "http://127.0.0.1:7480/bkt/k?uploads=");
  EXPECT_EQ(e->CopySource("dir/x y", ""), "/bkt/dir/x%20y");
  EXPECT_EQ(e->CopySource("x", "v 1"), "/bkt/x?versionId=v%201");
  EXPECT_EQ(e->Describe(), "s3://bkt at http://127.0.0.1:7480");
}

TEST(EndpointTest, VirtualHostedAddressingAndAwsDefault) {
  auto e = S3Endpoint::Create("", "eu-west-1", "bkt", false);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host(), "bkt.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(e->Path(""), "/");
  EXPECT_EQ(e->Path("a/b"), "/a/b");
  EXPECT_EQ(e->Url("a/b", ""), "https://bkt.s3.eu-west-1.amazonaws.com/a/b");
  EXPECT_EQ(e->CopySource("a/b", ""), "/bkt/a/b");
  // Dots break the wildcard certificate; IP literals have no subdomains.
  EXPECT_FALSE(S3Endpoint::Create("", "eu-west-1", "my.bucket", false).ok());
  EXPECT_FALSE(S3Endpoint::Create("http://[::1]:9000", "us-east-1", "bkt", false).ok());
  EXPECT_FALSE(S3Endpoint::Create("", "", "bkt", true).ok());
}

TEST(ObjectHeadersTest, EtagsDatesAndRanges) {
  EXPECT_EQ(UnquoteEtag("\"abc\""), "abc");
  EXPECT_EQ(UnquoteEtag("W/\"abc\""), "abc");
  EXPECT_EQ(UnquoteEtag("abc"), "abc");
  EXPECT_EQ(QuoteEtag("abc"), "\"abc\"");
  EXPECT_EQ(QuoteEtag("\"abc\""), "\"abc\"");
  EXPECT_EQ(QuoteEtag("*"), "*");

  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), base::FromUnixSeconds(784111777));
  EXPECT_FALSE(ParseHttpDate("yesterday"));
  EXPECT_EQ(ParseIso8601("1994-11-06T08:49:37.5Z"),
            base::FromUnixSeconds(784111777) + std::chrono::milliseconds(500));
  EXPECT_FALSE(ParseIso8601("1994-11-06T08:49:37+02:00"));
  EXPECT_FALSE(ParseIso8601("1994-11-06"));

  auto cr = ParseContentRange("bytes 10-19/100");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->first, 10u);
  EXPECT_EQ(cr->last, 19u);
  EXPECT_EQ(cr->total, 100u);
  for (const char* bad : {"", "bytes */100", "bytes 5-4/100", "bytes 0-100/100", "items 0-1/2",
                          "bytes 0-1", "bytes a-1/2"}) {
    EXPECT_FALSE(ParseContentRange(bad)) << bad;
  }
  EXPECT_EQ(ParseUint64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint64("18446744073709551616"));
}

TEST(ObjectHeadersTest, InfoFromHeadersAndMetadata) {
  HttpResponse r;
  r.status = 200;
  r.headers = {{"etag", "\"abc\""},
               {"content-length", "42"},
               {"last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"},
               {"content-type", "text/plain"},
               {"x-amz-version-id", "null"},
               {"x-amz-meta-mode", "33188"},
               {"x-amz-meta-uid", "1000"},
               {"x-amz-request-id", "r"}};
  auto info = InfoFromHeaders("k", r);
  EXPECT_EQ(info.key, "k");
  EXPECT_EQ(info.etag, "abc");
  EXPECT_EQ(info.size, 42u);
  EXPECT_EQ(info.last_modified, base::FromUnixSeconds(784111777));
  EXPECT_EQ(info.content_type, "text/plain");
  EXPECT_EQ(info.version_id, "");
  EXPECT_EQ(info.metadata, (blobstore::UserMetadata{{"mode", "33188"}, {"uid", "1000"}}));

  Headers h;
  AddMetadataHeaders({{"Mode", "1"}}, &h);
  EXPECT_EQ(h, (Headers{{"x-amz-meta-mode", "1"}}));
  EXPECT_TRUE(ValidateMetadata({{"mtime", "1700000000"}, {"a-b_c.d", "x y"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"", "x"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"bad name", "x"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"k", "line\r\nx-amz-acl: public-read"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"k", "\xc3\xa9"}}).ok());
}

TEST(RetryTest, FullJitterStaysUnderTheExponentialCeiling) {
  base::FakeClock clock;
  RetryPolicy policy;
  policy.base_delay = std::chrono::milliseconds(100);
  policy.max_delay = std::chrono::milliseconds(1000);
  Backoff backoff(policy, &clock, 1);
  std::chrono::nanoseconds largest{0};
  for (int round = 0; round < 200; ++round) {
    for (int retry = 1; retry <= 10; ++retry) {
      auto d = backoff.Delay(retry);
      auto ceiling = std::min<std::chrono::nanoseconds>(
          std::chrono::milliseconds(100) * (1 << (retry - 1)), std::chrono::milliseconds(1000));
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d, ceiling) << "retry " << retry;
      largest = std::max(largest, d);
    }
  }
  // Jitter, not a constant: across many draws some come close to the cap.
  EXPECT_GT(largest, std::chrono::milliseconds(900));
  backoff.Sleep(3);
  EXPECT_GT(clock.slept().count(), 0);
  EXPECT_EQ(Backoff(policy, &clock, 1).Delay(1000) <= std::chrono::milliseconds(1000), true);
}

TEST(RetryTest, WhatIsRetryable) {
  for (long status : {500L, 502L, 503L, 504L, 408L, 429L}) {
    EXPECT_TRUE(IsRetryableHttp(status, "")) << status;
  }
  for (long status : {400L, 401L, 403L, 404L, 409L, 412L, 416L, 501L, 200L, 304L}) {
    EXPECT_FALSE(IsRetryableHttp(status, "")) << status;
  }
  EXPECT_TRUE(IsRetryableHttp(400, "RequestTimeout"));
  EXPECT_TRUE(IsRetryableHttp(200, "InternalError"));
  EXPECT_TRUE(IsRetryableHttp(503, "SlowDown"));
  EXPECT_FALSE(IsRetryableHttp(403, "AccessDenied"));
}

TEST(MultipartTest, PartSizeGrowsToStayUnderTenThousandParts) {
  EXPECT_EQ(ChoosePartSize(100u << 20, 16u << 20), 16u << 20);
  EXPECT_EQ(ChoosePartSize(100u << 20, 1u << 20), 5u << 20);  // S3's minimum
  const uint64_t huge = 1ull << 40;                           // 1 TiB
  uint64_t part = ChoosePartSize(huge, 16u << 20);
  EXPECT_LE((huge + part - 1) / part, 10000u);
  EXPECT_EQ(part % (1u << 20), 0u);
}

TEST(MultipartTest, EtagDerivedFromParts) {
  // md5(md5("a") ++ md5("b")) + "-2", as S3 computes it.
  std::string expected;
  {
    base::Digest a(base::Digest::Algorithm::kMd5), b(base::Digest::Algorithm::kMd5),
        all(base::Digest::Algorithm::kMd5);
    a.Update("a");
    b.Update("b");
    all.Update(a.Finish());
    all.Update(b.Finish());
    expected = all.FinishHex() + "-2";
  }
  EXPECT_EQ(MultipartEtag({base::Md5Hex("a"), base::Md5Hex("b")}), expected);
  EXPECT_EQ(MultipartEtag({"not-an-md5"}), "");
}

TEST(ErrorMappingTest, StatusCodesAndMessages) {
  auto endpoint = S3Endpoint::Create("http://127.0.0.1:1", "us-east-1", "bkt", true);
  ASSERT_TRUE(endpoint.ok());
  ErrorContext ctx;
  ctx.op = "get";
  ctx.key = "a/b";
  ctx.endpoint = &*endpoint;
  ctx.credential_source = "environment";
  ctx.access_key_id = "AKID";
  auto map = [&](long status, const std::string& code, std::string_view key = "a/b") {
    HttpResponse r;
    r.status = status;
    if (!code.empty()) {
      r.body = "<Error><Code>" + code + "</Code><Message>m</Message></Error>";
    }
    ErrorContext c = ctx;
    c.key = key;
    return MapS3Error(r, c);
  };
  EXPECT_EQ(map(404, "NoSuchKey").code(), StatusCode::kNotFound);
  EXPECT_NE(map(404, "NoSuchKey").message().find("'a/b' in bucket 'bkt'"), std::string::npos);
  auto no_bucket = map(404, "NoSuchBucket");
  EXPECT_EQ(no_bucket.code(), StatusCode::kNotFound);
  EXPECT_NE(no_bucket.message().find("bucket 'bkt' does not exist"), std::string::npos);
  EXPECT_EQ(map(404, "", "").code(), StatusCode::kNotFound);  // HEAD of a missing bucket
  auto denied = map(403, "AccessDenied");
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("access denied to bucket 'bkt'"), std::string::npos);
  EXPECT_NE(denied.message().find("credentials from environment"), std::string::npos);
  auto signature = map(403, "SignatureDoesNotMatch");
  EXPECT_EQ(signature.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(signature.message().find("secret key"), std::string::npos);
  EXPECT_NE(map(403, "InvalidAccessKeyId").message().find("'AKID'"), std::string::npos);
  EXPECT_EQ(map(403, "RequestTimeTooSkewed").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(map(412, "PreconditionFailed").code(), StatusCode::kConflict);
  EXPECT_EQ(map(412, "").code(), StatusCode::kConflict);
  EXPECT_EQ(map(304, "").code(), StatusCode::kNotModified);
  EXPECT_EQ(map(409, "BucketAlreadyOwnedByYou", "").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(map(409, "BucketNotEmpty", "").code(), StatusCode::kConflict);
  EXPECT_EQ(map(501, "NotImplemented").code(), StatusCode::kNotSupported);
  EXPECT_EQ(map(503, "SlowDown").code(), StatusCode::kUnavailable);
  EXPECT_EQ(map(400, "InvalidArgument").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(map(301, "PermanentRedirect").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(map(418, "").code(), StatusCode::kInvalidArgument);
  // A body that is not XML still gives a status, not a crash.
  HttpResponse html;
  html.status = 502;
  html.body = "<html>bad gateway";
  EXPECT_EQ(MapS3Error(html, ctx).code(), StatusCode::kUnavailable);
}

TEST(ParallelWorkTest, RunsEveryTaskOnceAcrossThreads) {
  base::ThreadPool pool("pw-test", 3);
  std::vector<std::atomic<int>> runs(100);
  ParallelWork work(&pool, runs.size(), 4, [&](size_t i) {
    runs[i]++;
    return base::Status::Ok();
  });
  EXPECT_TRUE(work.Finish().ok());
  for (auto& r : runs) EXPECT_EQ(r.load(), 1);
}

TEST(ParallelWorkTest, StopsAtTheFirstFailure) {
  base::ThreadPool pool("pw-test", 2);
  std::atomic<int> started{0};
  ParallelWork work(&pool, 1000, 3, [&](size_t i) {
    started++;
    return i == 5 ? base::Status::IOError("part 5 failed") : base::Status::Ok();
  });
  base::Status st = work.Finish();
  EXPECT_EQ(st.message(), "part 5 failed");
  EXPECT_LT(started.load(), 1000);
}

TEST(ParallelWorkTest, CallerFinishesAloneWhenThePoolIsBusy) {
  // Declared before the pool, so the pool joins its blocked worker before they are destroyed.
  base::Mutex mu;
  bool release = false;
  base::CondVar cv;
  base::ThreadPool pool("pw-busy", 1);
  pool.Submit([&] {
    base::MutexLock lock(&mu);
    while (!release) cv.Wait(&mu);
  });
  std::atomic<int> done{0};
  ParallelWork work(&pool, 10, 8, [&](size_t) {
    done++;
    return base::Status::Ok();
  });
  EXPECT_TRUE(work.Finish().ok());
  EXPECT_EQ(done.load(), 10);
  base::MutexLock lock(&mu);
  release = true;
  cv.SignalAll();
}

TEST(S3BlobStoreCreateTest, ValidatesConfigAndSendsNothing) {
  testing::FakeHttpPeer peer;
  ASSERT_TRUE(peer.ok());
  base::OwnedRuntime runtime;
  S3Config config;
  config.endpoint = peer.endpoint();
  config.bucket = "bkt";
  auto store = S3BlobStore::Create(config, runtime.runtime());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Describe(), "s3://bkt at " + peer.endpoint());
  EXPECT_EQ((*store)->config().bucket, "bkt");
  EXPECT_EQ(peer.request_count(), 0u);

  auto bad = [&](auto change) {
    S3Config c = config;
    change(c);
    return S3BlobStore::Create(c, runtime.runtime()).status().code();
  };
  EXPECT_EQ(bad([](S3Config& c) { c.bucket = "x"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](S3Config& c) { c.endpoint = "localhost:9000"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](S3Config& c) { c.part_size = 1 << 20; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](S3Config& c) { c.parallelism = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](S3Config& c) { c.retry.max_attempts = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](S3Config& c) { c.ca_bundle = "/nonexistent/ca.pem"; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](S3Config& c) { c.region = ""; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(peer.request_count(), 0u);
}

}  // namespace
}  // namespace shadowfs::s3
