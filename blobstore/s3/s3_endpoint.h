// S3Endpoint: where requests for one bucket go. Parses the endpoint URL, checks the bucket name,
// and turns keys into request URLs, Host headers and copy sources for path-style
// (host/bucket/key) or virtual-hosted (bucket.host/key) addressing. Immutable, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "blobstore/base/result.h"

namespace shadowfs::s3 {

struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // "127.0.0.1", "s3.amazonaws.com", "[::1]"
  int port = 0;        // 0: the scheme's default
};

// Accepts "http(s)://host[:port][/]"; anything else (a path, a query, user info) is
// InvalidArgument with a message that says why.
base::Result<ParsedUrl> ParseEndpointUrl(std::string_view url);

// S3's bucket naming rules. Virtual-hosted addressing needs a DNS-safe name (3-63 of a-z 0-9 .
// -); path-style also accepts legacy names with upper case and '_' (3-255), which older buckets
// on RGW and in us-east-1 have.
base::Status ValidateBucketName(std::string_view bucket, bool virtual_hosted);

class S3Endpoint {
 public:
  // `endpoint` empty: AWS's endpoint for `region`.
  static base::Result<S3Endpoint> Create(std::string_view endpoint, std::string_view region,
                                         std::string bucket, bool path_style);

  // The Host header value ("127.0.0.1:7480", "bucket.s3.amazonaws.com").
  const std::string& host() const { return host_; }
  // The percent-encoded request path for `key` (empty key: the bucket itself).
  std::string Path(std::string_view key) const;
  // scheme://host + Path(key) + ("?" + encoded_query unless empty).
  std::string Url(std::string_view key, std::string_view encoded_query) const;
  // The x-amz-copy-source value: "/bucket/key" encoded, plus "?versionId=" when given.
  std::string CopySource(std::string_view key, std::string_view version_id) const;
  // "s3://bucket at http://127.0.0.1:7480"
  std::string Describe() const;
  const std::string& bucket() const { return bucket_; }
  const std::string& base_url() const { return base_url_; }

 private:
  S3Endpoint(std::string scheme_host, std::string host, std::string bucket, bool path_style,
             std::string endpoint_text);

  std::string base_url_;  // "http://127.0.0.1:7480" or "https://bucket.s3.amazonaws.com"
  std::string host_;
  std::string bucket_;
  bool path_style_;
  std::string endpoint_text_;
};

}  // namespace shadowfs::s3
