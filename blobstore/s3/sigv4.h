// SigV4Signer: AWS Signature Version 4 in the Authorization header. Stateless after construction,
// so one signer is shared by every thread. The secret never leaves this object except as the
// derived signature.
//
// Path encoding differs by service: S3 signs the path exactly as sent (each key byte encoded once,
// '/' kept), every other AWS service encodes the sent path a second time. `double_encode_path`
// selects the latter; the S3 client always uses single encoding.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/result.h"

namespace shadowfs::s3 {

using Headers = std::vector<std::pair<std::string, std::string>>;
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// The payload hash S3 accepts instead of the body's SHA-256 (see S3Client for when we use it).
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Percent-encodes every byte except A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash), with
// upper-case hex: the encoding SigV4 canonicalization and S3 paths require.
std::string UriEncode(std::string_view in, bool keep_slash);

// Decodes %XX escapes; with plus_is_space also '+' (S3's encoding-type=url listings encode a
// space as '+' on AWS and as %20 on RGW, and a literal '+' as %2B on both). InvalidArgument on a
// malformed escape.
base::Result<std::string> UriDecode(std::string_view in, bool plus_is_space);

// "20150830T123600Z"
std::string AmzDate(base::WallTime t);

struct SigningRequest {
  std::string method;
  // The path as sent on the wire, already percent-encoded ("/bucket/my%20key").
  std::string path;
  QueryParams query;         // decoded names and values; encoded and sorted when signing
  Headers headers;           // every header to sign, including host; names in any case
  std::string payload_hash;  // hex SHA-256 of the body, or kUnsignedPayload
};

class SigV4Signer {
 public:
  SigV4Signer(std::string access_key_id, std::string secret_access_key, std::string session_token,
              std::string region, std::string service, bool double_encode_path);

  // Adds x-amz-date (and x-amz-security-token for temporary credentials) to request->headers
  // and returns the value for the Authorization header.
  std::string Sign(SigningRequest* request, base::WallTime now) const;

  // The steps of Sign, exposed for the published test vectors. `request` must already carry
  // its x-amz-date header.
  std::string CanonicalRequest(const SigningRequest& request) const;
  std::string StringToSign(std::string_view amz_date, std::string_view canonical_request) const;
  std::string Signature(std::string_view amz_date, std::string_view string_to_sign) const;
  static std::string CanonicalQuery(const QueryParams& query);
  // "host;x-amz-date", from the request's headers.
  static std::string SignedHeaders(const Headers& headers);

  const std::string& access_key_id() const { return access_key_id_; }

 private:
  std::string CredentialScope(std::string_view date) const;

  const std::string access_key_id_;
  const std::string secret_access_key_;
  const std::string session_token_;
  const std::string region_;
  const std::string service_;
  const bool double_encode_path_;
};

}  // namespace shadowfs::s3
