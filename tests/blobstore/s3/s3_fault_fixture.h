// The fixture and helpers of the S3 fault tests: a store pointed at a FakeHttpPeer, with a
// FakeClock (backoff costs nothing; only real socket timeouts take time), short timeouts and four
// attempts per request, plus canned S3-like answers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "blobstore/base/digest.h"
#include "blobstore/base/runtime.h"
#include "blobstore/s3/s3_blob_store.h"
#include "tests/blobstore/s3/fake_http_peer.h"

namespace shadowfs::s3::testing {

using base::StatusCode;
using blobstore::GetOptions;
using blobstore::PutOptions;

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

inline std::string Quoted(const std::string& etag) { return "\"" + etag + "\""; }

// Serves `data` like S3 would: Range, If-Match and If-None-Match honoured.
inline PeerResponse ServeObject(const PeerRequest& request, const std::string& data,
                                const std::string& etag) {
  const std::string* if_match = request.Header("if-match");
  if (if_match != nullptr && *if_match != Quoted(etag)) {
    return PeerResponse::Error(412, "PreconditionFailed");
  }
  const std::string* if_none = request.Header("if-none-match");
  if (if_none != nullptr && *if_none == Quoted(etag)) return PeerResponse::Status(304);
  PeerResponse r;
  r.With("ETag", Quoted(etag)).With("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
  const std::string* range = request.Header("range");
  if (range == nullptr) {
    r.body = data;
    return r;
  }
  const std::string spec = range->substr(6);  // after "bytes="
  const size_t dash = spec.find('-');
  uint64_t first, last;
  if (dash == 0) {
    uint64_t n = std::stoull(spec.substr(1));
    first = n >= data.size() ? 0 : data.size() - n;
    last = data.size() - 1;
  } else {
    first = std::stoull(spec.substr(0, dash));
    last = dash + 1 < spec.size() ? std::stoull(spec.substr(dash + 1)) : data.size() - 1;
    last = std::min<uint64_t>(last, data.size() - 1);
  }
  if (data.empty() || first >= data.size()) return PeerResponse::Error(416, "InvalidRange");
  r.status = 206;
  r.With("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                              std::to_string(data.size()));
  r.body = data.substr(first, last - first + 1);
  return r;
}

inline PeerResponse Stored(const std::string& etag) {
  return PeerResponse::Status(200).With("ETag", Quoted(etag));
}

class S3FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(peer_.ok()); }

  std::unique_ptr<S3BlobStore> Store(const std::function<void(S3Config&)>& tweak = {}) {
    S3Config c;
    c.endpoint = peer_.endpoint();
    c.bucket = "bkt";
    c.credentials.access_key_id = "AKIDTEST";
    c.credentials.secret_access_key = "fault-test-secret";
    c.credentials.source = "test credentials";
    c.retry.max_attempts = 4;
    c.retry.base_delay = std::chrono::milliseconds(100);
    c.retry.max_delay = std::chrono::milliseconds(1000);
    c.connect_timeout = std::chrono::seconds(2);
    c.stall_timeout = std::chrono::seconds(1);
    if (tweak) tweak(c);
    auto store = S3BlobStore::Create(c, runtime_.runtime());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }

  std::string Metrics() { return runtime_.metrics().ExportPrometheus(); }

  FakeHttpPeer peer_;
  base::OwnedRuntime runtime_{base::OwnedRuntime::Time::kFake, base::LogLevel::kError};
};

// The multipart tests use S3's smallest legal part size, so bodies are a few MiB.
inline void SmallParts(S3Config& c) {
  c.multipart_threshold = 6u << 20;
  c.part_size = 5u << 20;
  c.parallelism = 2;
}

inline PeerResponse MultipartPeer(const PeerRequest& r, std::atomic<int>* part2_failures,
                                  std::string complete_body) {
  if (r.method == "POST" && r.target.find("uploads=") != std::string::npos) {
    return PeerResponse::Status(200,
                                "<InitiateMultipartUploadResult><UploadId>up-1</UploadId>"
                                "</InitiateMultipartUploadResult>");
  }
  if (r.method == "PUT" && r.target.find("partNumber=") != std::string::npos) {
    if (r.target.find("partNumber=2") != std::string::npos && part2_failures->fetch_sub(1) > 0) {
      return PeerResponse::Error(500, "InternalError");
    }
    return Stored(base::Md5Hex(r.body));
  }
  if (r.method == "POST") return PeerResponse::Status(200, std::move(complete_body));
  if (r.method == "DELETE") return PeerResponse::Status(204);
  return PeerResponse::Error(400, "Unexpected");
}

}  // namespace shadowfs::s3::testing
