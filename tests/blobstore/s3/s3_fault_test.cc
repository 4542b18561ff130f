// The S3 client over a misbehaving HTTP peer, reads and the retry policy: every case ends in a
// retry that succeeds or in a clear Status, never a crash or a hang, and the number of requests
// the peer saw shows whether the client retried.
#include "tests/blobstore/s3/s3_fault_fixture.h"

namespace shadowfs::s3::testing {
namespace {

TEST_F(S3FaultTest, ServerErrorsAreRetriedUntilSuccess) {
  auto store = Store();
  peer_.Enqueue(PeerResponse::Error(500, "InternalError"));
  peer_.Enqueue(PeerResponse::Error(503, "SlowDown"));
  peer_.Enqueue(Stored(base::Md5Hex("payload")));
  auto put = blobstore::PutString(*store, "k", "payload");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->etag, base::Md5Hex("payload"));
  ASSERT_EQ(peer_.request_count(), 3u);
  for (const auto& r : peer_.requests()) EXPECT_EQ(r.body, "payload");  // re-read each attempt
  EXPECT_GT(runtime_.fake_clock()->slept().count(), 0);
  const std::string m = Metrics();
  EXPECT_NE(m.find("shadowfs_s3_requests_total{op=\"put\",code=\"5xx\"} 2"), std::string::npos)
      << m;
  EXPECT_NE(m.find("shadowfs_s3_retries_total{op=\"put\"} 2"), std::string::npos) << m;
}

TEST_F(S3FaultTest, PersistentSlowDownIsUnavailableNamingOperationKeyAndError) {
  auto store = Store();
  peer_.SetHandler([](const PeerRequest&) { return PeerResponse::Error(503, "SlowDown"); });
  auto put = blobstore::PutString(*store, "dir/k", "x");
  ASSERT_EQ(put.status().code(), StatusCode::kUnavailable) << put.status().ToString();
  EXPECT_EQ(peer_.request_count(), 4u);
  const std::string& m = put.status().message();
  EXPECT_NE(m.find("put of 'dir/k'"), std::string::npos) << m;
  EXPECT_NE(m.find("4 attempts"), std::string::npos) << m;
  EXPECT_NE(m.find("SlowDown"), std::string::npos) << m;
}

TEST_F(S3FaultTest, AccessDeniedIsNotRetried) {
  auto store = Store();
  peer_.SetHandler([](const PeerRequest&) { return PeerResponse::Error(403, "AccessDenied"); });
  auto head = store->Head("k");
  // HEAD answers carry no body; the status alone says it.
  ASSERT_EQ(head.status().code(), StatusCode::kPermissionDenied) << head.status().ToString();
  EXPECT_NE(head.status().message().find("bucket 'bkt'"), std::string::npos);
  EXPECT_NE(head.status().message().find("test credentials"), std::string::npos);
  EXPECT_EQ(peer_.request_count(), 1u);
  auto put = blobstore::PutString(*store, "k", "x");
  EXPECT_EQ(put.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(peer_.request_count(), 2u);
}

TEST_F(S3FaultTest, SignatureMismatchIsPermissionDeniedWithAHint) {
  auto store = Store();
  peer_.Enqueue(PeerResponse::Error(403, "SignatureDoesNotMatch"));
  auto list = store->List({});
  ASSERT_EQ(list.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(list.status().message().find("secret key"), std::string::npos);
  EXPECT_NE(list.status().message().find("AKIDTEST"), std::string::npos);
  EXPECT_EQ(list.status().message().find("fault-test-secret"), std::string::npos);
  EXPECT_EQ(peer_.request_count(), 1u);
}

TEST_F(S3FaultTest, MissingKeyAndMissingBucketAreNotFoundWithoutRetry) {
  auto store = Store();
  peer_.Enqueue(PeerResponse::Error(404, "NoSuchKey"));
  blobstore::StringSink sink;
  auto get = store->Get("k", {}, sink);
  EXPECT_TRUE(get.status().IsNotFound()) << get.status().ToString();
  EXPECT_EQ(peer_.request_count(), 1u);

  peer_.Enqueue(PeerResponse::Error(404, "NoSuchBucket"));
  auto list = store->List({});
  EXPECT_TRUE(list.status().IsNotFound());
  EXPECT_NE(list.status().message().find("bucket 'bkt' does not exist"), std::string::npos);
  EXPECT_EQ(peer_.request_count(), 2u);
}

TEST_F(S3FaultTest, TruncatedGetBodyIsResumedFromTheLastByte) {
  auto store = Store();
  const std::string data = RandomBytes(100000, 1);
  const std::string etag = base::Md5Hex(data);
  std::atomic<int> calls{0};
  peer_.SetHandler([&](const PeerRequest& r) {
    PeerResponse response = ServeObject(r, data, etag);
    if (calls++ == 0) response.send_body_bytes = 40000;  // then the connection drops
    return response;
  });
  auto got = blobstore::GetString(*store, "k");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_NE(requests[1].Header("range"), nullptr);
  EXPECT_EQ(*requests[1].Header("range"), "bytes=40000-99999");
  ASSERT_NE(requests[1].Header("if-match"), nullptr);
  EXPECT_EQ(*requests[1].Header("if-match"), Quoted(etag));
}

TEST_F(S3FaultTest, BodyThatKeepsBreakingOffEndsUnavailable) {
  auto store = Store();
  const std::string data = RandomBytes(100000, 2);
  peer_.SetHandler([&](const PeerRequest& r) {
    PeerResponse response = ServeObject(r, data, "e");
    response.send_body_bytes = 1000;
    return response;
  });
  blobstore::StringSink sink;
  auto get = store->Get("k", {}, sink);
  EXPECT_EQ(get.status().code(), StatusCode::kUnavailable) << get.status().ToString();
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 4u);
  // Each attempt resumes where the last one stopped.
  EXPECT_EQ(*requests[3].Header("range"), "bytes=3000-99999");
}

TEST_F(S3FaultTest, MalformedXmlIsCorruptionAndNotRetried) {
  auto store = Store();
  peer_.Enqueue(PeerResponse::Status(200, "<ListBucketResult><Contents><Key>a</Key>"));
  auto list = store->List({});
  EXPECT_EQ(list.status().code(), StatusCode::kCorruption) << list.status().ToString();
  EXPECT_EQ(peer_.request_count(), 1u);
}

TEST_F(S3FaultTest, ConnectionResetIsRetried) {
  auto store = Store();
  PeerResponse reset;
  reset.reset = true;
  peer_.Enqueue(reset);
  peer_.Enqueue(Stored("abc").With("Content-Length", "7"));
  auto head = store->Head("k");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->etag, "abc");
  EXPECT_EQ(head->size, 7u);
  EXPECT_EQ(peer_.request_count(), 2u);
}

TEST_F(S3FaultTest, StalledResponseIsAbandonedAndRetried) {
  auto store = Store();  // stall_timeout 1 s
  PeerResponse slow = Stored("abc");
  slow.delay = std::chrono::seconds(5);
  peer_.Enqueue(slow);
  peer_.Enqueue(Stored("abc"));
  auto head = store->Head("k");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  // Two requests: had the client waited out the 5 s stall, the first would have answered.
  EXPECT_EQ(peer_.request_count(), 2u);
}

TEST_F(S3FaultTest, RangeStartingPastTheEndReadsNothingWithTheObjectsInfo) {
  auto store = Store();
  peer_.Enqueue(PeerResponse::Error(416, "InvalidRange"));
  peer_.Enqueue(Stored("abc").With("Content-Length", "10"));
  GetOptions options;
  options.range = blobstore::ByteRange::From(50);
  blobstore::StringSink sink;
  auto get = store->Get("k", options, sink);
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->length, 0u);
  EXPECT_EQ(get->info.size, 10u);
  EXPECT_EQ(get->info.etag, "abc");
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[1].method, "HEAD");
}

TEST_F(S3FaultTest, NotModifiedAndPreconditionFailed) {
  auto store = Store();
  const std::string data = "content";
  peer_.SetHandler([&](const PeerRequest& r) { return ServeObject(r, data, "e1"); });
  GetOptions options;
  options.conditions.if_none_match = "e1";
  blobstore::StringSink sink;
  EXPECT_TRUE(store->Get("k", options, sink).status().IsNotModified());
  EXPECT_EQ(*peer_.requests()[0].Header("if-none-match"), "\"e1\"");
  options.conditions = {};
  options.conditions.if_match = "e0";
  EXPECT_TRUE(store->Get("k", options, sink).status().IsConflict());
  EXPECT_EQ(peer_.request_count(), 2u);
}

TEST_F(S3FaultTest, BadContentRangeIsCorruption) {
  auto store = Store();
  peer_.Enqueue(PeerResponse::Status(206, "abc").With("Content-Range", "bytes nonsense"));
  blobstore::StringSink sink;
  auto get = store->Get("k", {}, sink);
  EXPECT_EQ(get.status().code(), StatusCode::kCorruption) << get.status().ToString();
  EXPECT_EQ(peer_.request_count(), 1u);
}

TEST_F(S3FaultTest, ParallelGetPinsEveryPartToTheFirstEtag) {
  auto store = Store([](S3Config& c) {
    c.parallel_get_threshold = 1000;
    c.get_part_size = 1000;
    c.parallelism = 3;
  });
  const std::string data = RandomBytes(5500, 3);
  peer_.SetHandler([&](const PeerRequest& r) { return ServeObject(r, data, "v1"); });
  auto got = blobstore::GetString(*store, "k");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 6u);  // the first part, then 5 more
  EXPECT_EQ(requests[0].Header("if-match"), nullptr);
  for (size_t i = 1; i < requests.size(); ++i) {
    ASSERT_NE(requests[i].Header("if-match"), nullptr);
    EXPECT_EQ(*requests[i].Header("if-match"), "\"v1\"");
  }
}

TEST_F(S3FaultTest, WithoutParallelismALargeGetIsOneRequest) {
  // Splitting buys nothing without parallelism and costs a round trip per part.
  auto store = Store([](S3Config& c) {
    c.parallel_get_threshold = 1000;
    c.get_part_size = 1000;
    c.parallelism = 1;
  });
  const std::string data = RandomBytes(5500, 4);
  peer_.SetHandler([&](const PeerRequest& r) { return ServeObject(r, data, "v1"); });
  auto got = blobstore::GetString(*store, "k");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  ASSERT_EQ(peer_.requests().size(), 1u);
  EXPECT_EQ(*peer_.requests()[0].Header("range"), "bytes=0-");
}

TEST_F(S3FaultTest, RemainderBelowTheParallelThresholdIsOneRequest) {
  auto store = Store([](S3Config& c) {
    c.parallel_get_threshold = 10000;
    c.get_part_size = 1000;
    c.parallelism = 4;
  });
  const std::string data = RandomBytes(5500, 5);
  peer_.SetHandler([&](const PeerRequest& r) { return ServeObject(r, data, "v1"); });
  auto got = blobstore::GetString(*store, "k");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 2u);  // the first part, then the 4500-byte rest in one piece
  EXPECT_EQ(*requests[1].Header("range"), "bytes=1000-5499");
}

TEST_F(S3FaultTest, OverwriteDuringAParallelGetIsAConflict) {
  auto store = Store([](S3Config& c) {
    c.parallel_get_threshold = 1000;
    c.get_part_size = 1000;
  });
  const std::string v1 = RandomBytes(5000, 4), v2 = RandomBytes(5000, 5);
  std::atomic<int> calls{0};
  peer_.SetHandler([&](const PeerRequest& r) {
    // The object is replaced right after the first response.
    return calls++ == 0 ? ServeObject(r, v1, "v1") : ServeObject(r, v2, "v2");
  });
  blobstore::StringSink sink;
  auto get = store->Get("k", {}, sink);
  EXPECT_TRUE(get.status().IsConflict()) << get.status().ToString();
}

TEST_F(S3FaultTest, ConnectionResetEveryTimeEndsUnavailable) {
  auto store = Store();
  peer_.SetHandler([](const PeerRequest&) { return PeerResponse{.reset = true}; });
  auto list = store->List({});
  EXPECT_EQ(list.status().code(), StatusCode::kUnavailable) << list.status().ToString();
  EXPECT_NE(list.status().message().find("list"), std::string::npos);
  EXPECT_EQ(peer_.request_count(), 4u);
}

TEST_F(S3FaultTest, ServerThatIgnoresRangeStillYieldsTheRange) {
  auto store = Store();
  const std::string data = RandomBytes(100, 9);
  std::atomic<int> calls{0};
  peer_.SetHandler([&](const PeerRequest&) {
    PeerResponse full = Stored("e");
    full.body = data;
    // The second time, the connection also drops after byte 50, past the wanted range.
    if (calls++ == 1) full.send_body_bytes = 50;
    return full;
  });
  for (int round = 0; round < 2; ++round) {
    GetOptions options;
    options.range = blobstore::ByteRange::Span(10, 20);
    blobstore::StringSink sink;
    auto get = store->Get("k", options, sink);
    ASSERT_TRUE(get.ok()) << get.status().ToString();
    EXPECT_EQ(get->offset, 10u);
    EXPECT_EQ(get->length, 20u);
    EXPECT_EQ(get->info.size, 100u);
    EXPECT_TRUE(sink.Take() == data.substr(10, 20));
  }
  EXPECT_EQ(peer_.request_count(), 2u);  // no retry: the wanted bytes had all arrived
}

TEST_F(S3FaultTest, LargeSuffixRangeIsFetchedInParallelParts) {
  auto store = Store([](S3Config& c) {
    c.parallel_get_threshold = 1000;
    c.get_part_size = 1000;
  });
  const std::string data = RandomBytes(5500, 10);
  peer_.SetHandler([&](const PeerRequest& r) { return ServeObject(r, data, "v1"); });
  GetOptions options;
  options.range = blobstore::ByteRange::Last(3500);
  blobstore::StringSink sink;
  auto get = store->Get("k", options, sink);
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->offset, 2000u);
  EXPECT_EQ(get->length, 3500u);
  EXPECT_TRUE(sink.Take() == data.substr(2000));
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 4u);  // the last 1000 bytes first, then 3 parts before them
  EXPECT_EQ(*requests[0].Header("range"), "bytes=-1000");
}

TEST_F(S3FaultTest, HeaderInjectionIsRefusedBeforeSending) {
  auto store = Store();
  GetOptions options;
  options.conditions.if_match = "etag\r\nx-amz-acl: public-read";
  blobstore::StringSink sink;
  auto get = store->Get("k", options, sink);
  EXPECT_EQ(get.status().code(), StatusCode::kInvalidArgument) << get.status().ToString();
  PutOptions put;
  put.content_type = "text/plain\nx: y";
  EXPECT_EQ(blobstore::PutString(*store, "k", "x", put).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(peer_.request_count(), 0u);
}

}  // namespace
}  // namespace shadowfs::s3::testing
