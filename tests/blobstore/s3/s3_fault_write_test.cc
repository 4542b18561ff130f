// The S3 client over a misbehaving HTTP peer, writes: request signing and encoding, copies whose
// errors hide in a 200, the conditional-write probe, and multipart uploads (per-part retry,
// abort on failure, ETags RGW leaves out).
#include "tests/blobstore/s3/s3_fault_fixture.h"

namespace shadowfs::s3::testing {
namespace {

TEST_F(S3FaultTest, CopyErrorHiddenInA200IsRetried) {
  auto store = Store();
  peer_.Enqueue(Stored("src-etag").With("Content-Length", "5"));  // HEAD of the source
  PeerResponse hidden = PeerResponse::Error(200, "InternalError", "try again");
  peer_.Enqueue(hidden);
  peer_.Enqueue(
      PeerResponse::Status(200,
                           "<CopyObjectResult><LastModified>2009-10-12T17:50:30.000Z"
                           "</LastModified><ETag>\"new-etag\"</ETag></CopyObjectResult>"));
  blobstore::CopyOptions options;
  options.replace_metadata = blobstore::UserMetadata{{"mode", "33261"}};
  auto copy = store->Copy("src key", "dst", options);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(copy->etag, "new-etag");
  EXPECT_EQ(copy->size, 5u);
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].target, "/bkt/dst");
  EXPECT_EQ(*requests[1].Header("x-amz-copy-source"), "/bkt/src%20key");
  EXPECT_EQ(*requests[1].Header("x-amz-copy-source-if-match"), "\"src-etag\"");
  EXPECT_EQ(*requests[1].Header("x-amz-metadata-directive"), "REPLACE");
  EXPECT_EQ(*requests[1].Header("x-amz-meta-mode"), "33261");
}

TEST_F(S3FaultTest, CopyFailureHiddenInA200IsReported) {
  auto store = Store();
  peer_.Enqueue(Stored("src-etag").With("Content-Length", "5"));
  peer_.Enqueue(PeerResponse::Error(200, "InvalidRequest", "cannot copy"));
  auto copy = store->Copy("src", "dst", {});
  EXPECT_EQ(copy.status().code(), StatusCode::kInvalidArgument) << copy.status().ToString();
  EXPECT_NE(copy.status().message().find("cannot copy"), std::string::npos);
  EXPECT_EQ(peer_.request_count(), 2u);
}

TEST_F(S3FaultTest, RequestsAreSignedAndKeysEncoded) {
  auto store = Store();
  peer_.Enqueue(Stored(base::Md5Hex("x")));
  PutOptions options;
  options.metadata = {{"mode", "33188"}};
  options.content_type = "text/plain";
  ASSERT_TRUE(blobstore::PutString(*store, "dir/a b+c%d?e#f~g", "x", options).ok());
  auto r = peer_.requests().at(0);
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.target, "/bkt/dir/a%20b%2Bc%25d%3Fe%23f~g");
  ASSERT_NE(r.Header("authorization"), nullptr);
  EXPECT_EQ(
      r.Header("authorization")
          ->rfind(
              "AWS4-HMAC-SHA256 Credential=AKIDTEST/20231114/us-east-1/s3/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-mode, "
              "Signature=",
              0),
      0u)
      << *r.Header("authorization");
  EXPECT_EQ(*r.Header("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_EQ(*r.Header("x-amz-date"), "20231114T221320Z");  // the FakeClock's time
  EXPECT_EQ(*r.Header("host"), "127.0.0.1:" + std::to_string(peer_.port()));
  EXPECT_EQ(*r.Header("content-type"), "text/plain");
  EXPECT_EQ(*r.Header("x-amz-meta-mode"), "33188");
  EXPECT_EQ(r.Header("expect"), nullptr);
  EXPECT_EQ(r.body, "x");
}

TEST_F(S3FaultTest, ProbeFindsTheEtagFormRgwWantsAndUsesIt) {
  auto store = Store(SmallParts);
  const std::string etag = base::Md5Hex("shadowfs conditional write probe");
  // RGW 16: create-only honoured; If-Match only matches unquoted; Complete ignores conditions.
  peer_.Enqueue(Stored(etag));                                    // If-None-Match: * on a new key
  peer_.Enqueue(PeerResponse::Error(412, "PreconditionFailed"));  // ... again
  peer_.Enqueue(PeerResponse::Error(412, "PreconditionFailed"));  // If-Match "etag"
  peer_.Enqueue(Stored(etag));                                    // If-Match etag
  peer_.Enqueue(PeerResponse::Error(412, "PreconditionFailed"));  // If-Match wrong
  for (int i = 0; i < 2; ++i) {                                   // two conditional completions
    peer_.Enqueue(PeerResponse::Status(200,
                                       "<InitiateMultipartUploadResult><UploadId>u</UploadId>"
                                       "</InitiateMultipartUploadResult>"));
    peer_.Enqueue(Stored(etag));
    peer_.Enqueue(PeerResponse::Status(200,
                                       "<CompleteMultipartUploadResult><ETag>\"x-1\"</ETag>"
                                       "</CompleteMultipartUploadResult>"));
  }
  peer_.Enqueue(PeerResponse::Status(204));  // cleanup
  auto supported = store->SupportsConditionalWrites();
  ASSERT_TRUE(supported.ok()) << supported.status().ToString();
  EXPECT_TRUE(*supported);
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 12u);
  EXPECT_EQ(requests[0].target.rfind("/bkt/.shadowfs-probe/", 0), 0u) << requests[0].target;
  EXPECT_EQ(*requests[0].Header("if-none-match"), "*");
  EXPECT_EQ(*requests[2].Header("if-match"), Quoted(etag));
  EXPECT_EQ(*requests[3].Header("if-match"), etag);
  EXPECT_EQ(*requests[7].Header("if-none-match"), "*");  // on CompleteMultipartUpload
  EXPECT_EQ(requests[11].method, "DELETE");
  EXPECT_EQ(requests[11].target, requests[0].target);

  // Later conditional writes use the unquoted form, and (Complete ignoring conditions) a
  // single PUT even above the multipart threshold. The answer is cached: no second probe.
  peer_.Enqueue(Stored("new"));
  PutOptions update;
  update.conditions.if_match = "\"0123\"";
  const std::string big(7u << 20, 'b');
  ASSERT_TRUE(blobstore::PutString(*store, "k", big, update).ok());
  auto last = peer_.requests().back();
  EXPECT_EQ(last.target, "/bkt/k");
  EXPECT_EQ(*last.Header("if-match"), "0123");
  EXPECT_EQ(last.body.size(), big.size());
  EXPECT_EQ(peer_.request_count(), 13u);
  // Unconditional writes of that size still go multipart.
  std::atomic<int> no_failures{0};
  peer_.SetHandler([&](const PeerRequest& r) {
    return MultipartPeer(r, &no_failures,
                         "<CompleteMultipartUploadResult><ETag>\"m-2\"</ETag>"
                         "</CompleteMultipartUploadResult>");
  });
  auto plain = blobstore::PutString(*store, "k", big);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->etag, "m-2");
}

TEST_F(S3FaultTest, ServerThatIgnoresConditionsIsDetected) {
  auto store = Store();
  peer_.SetHandler([](const PeerRequest& r) {
    return r.method == "DELETE" ? PeerResponse::Status(204) : Stored("e");
  });
  auto supported = store->SupportsConditionalWrites();
  ASSERT_TRUE(supported.ok()) << supported.status().ToString();
  EXPECT_FALSE(*supported);
  const size_t probe_requests = peer_.request_count();
  EXPECT_EQ(peer_.requests().back().method, "DELETE");  // cleaned up
  PutOptions create;
  create.conditions.if_none_match = "*";
  auto put = blobstore::PutString(*store, "k", "x", create);
  EXPECT_EQ(put.status().code(), StatusCode::kNotSupported) << put.status().ToString();
  EXPECT_EQ(peer_.request_count(), probe_requests);  // refused without sending a blind write
}

TEST_F(S3FaultTest, MultipartPartIsRetriedOnItsOwn) {
  auto store = Store(SmallParts);
  std::atomic<int> part2_failures{1};
  peer_.SetHandler([&](const PeerRequest& r) {
    return MultipartPeer(r, &part2_failures,
                         "<CompleteMultipartUploadResult><ETag>\"final-2\"</ETag>"
                         "</CompleteMultipartUploadResult>");
  });
  const std::string data = RandomBytes(7u << 20, 6);
  auto put = blobstore::PutString(*store, "big", data);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->etag, "final-2");
  EXPECT_EQ(put->size, data.size());
  // Initiate, part 1, part 2 twice, complete.
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 5u);
  int part1 = 0, part2 = 0;
  for (const auto& r : requests) {
    if (r.target.find("partNumber=1&") != std::string::npos) {
      ++part1;
      EXPECT_TRUE(r.body == data.substr(0, 5u << 20));
    }
    if (r.target.find("partNumber=2&") != std::string::npos) {
      ++part2;
      EXPECT_TRUE(r.body == data.substr(5u << 20));
    }
  }
  EXPECT_EQ(part1, 1);
  EXPECT_EQ(part2, 2);
  EXPECT_NE(requests.back().body.find("<PartNumber>2</PartNumber>"), std::string::npos);
}

TEST_F(S3FaultTest, MultipartCompleteErrorIn200AbortsTheUpload) {
  auto store = Store(SmallParts);
  std::atomic<int> no_failures{0};
  peer_.SetHandler([&](const PeerRequest& r) {
    return MultipartPeer(r, &no_failures,
                         "<Error><Code>InvalidPart</Code><Message>part gone</Message></Error>");
  });
  auto put = blobstore::PutString(*store, "big", RandomBytes(6u << 20, 7));
  EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument) << put.status().ToString();
  EXPECT_NE(put.status().message().find("InvalidPart"), std::string::npos);
  auto requests = peer_.requests();
  ASSERT_EQ(requests.size(), 5u);  // initiate, 2 parts, complete, abort
  EXPECT_EQ(requests.back().method, "DELETE");
  EXPECT_NE(requests.back().target.find("uploadId=up-1"), std::string::npos);
}

TEST_F(S3FaultTest, MultipartDerivesTheEtagWhenCompleteLeavesItOut) {
  auto store = Store(SmallParts);
  std::atomic<int> no_failures{0};
  peer_.SetHandler([&](const PeerRequest& r) {
    return MultipartPeer(r, &no_failures,
                         "<CompleteMultipartUploadResult><ETag></ETag>"
                         "</CompleteMultipartUploadResult>");
  });
  const std::string data = RandomBytes(6u << 20, 8);
  auto put = blobstore::PutString(*store, "big", data);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  base::Digest all(base::Digest::Algorithm::kMd5);
  for (size_t offset : {size_t{0}, size_t{5} << 20}) {
    base::Digest part(base::Digest::Algorithm::kMd5);
    part.Update(std::string_view(data).substr(offset, 5u << 20));
    all.Update(part.Finish());
  }
  EXPECT_EQ(put->etag, all.FinishHex() + "-2");
}

}  // namespace
}  // namespace shadowfs::s3::testing
