#include "blobstore/s3/sigv4.h"

#include <time.h>

#include <algorithm>
#include <map>

#include "blobstore/base/digest.h"

namespace shadowfs::s3 {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims the value and collapses runs of spaces into one, as SigV4 canonical headers require.
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  bool in_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

// Lower-cased names in sorted order, each with its values joined by ',' in the order given.
std::map<std::string, std::string> CanonicalHeaderMap(const Headers& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : headers) {
    std::string& slot = out[Lower(name)];
    if (!slot.empty()) slot += ',';
    slot += CanonicalHeaderValue(value);
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

base::Result<std::string> UriDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 2 < in.size() ? HexValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return base::Status::InvalidArgument("malformed percent escape in '" + std::string(in) +
                                             "'");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string AmzDate(base::WallTime t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SigV4Signer::SigV4Signer(std::string access_key_id, std::string secret_access_key,
                         std::string session_token, std::string region, std::string service,
                         bool double_encode_path)
    : access_key_id_(std::move(access_key_id)),
      secret_access_key_(std::move(secret_access_key)),
      session_token_(std::move(session_token)),
      region_(std::move(region)),
      service_(std::move(service)),
      double_encode_path_(double_encode_path) {}

std::string SigV4Signer::CanonicalQuery(const QueryParams& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string SigV4Signer::SignedHeaders(const Headers& headers) {
  std::string out;
  for (const auto& entry : CanonicalHeaderMap(headers)) {
    if (!out.empty()) out += ';';
    out += entry.first;
  }
  return out;
}

std::string SigV4Signer::CanonicalRequest(const SigningRequest& request) const {
  std::string out = request.method;
  out += '\n';
  out += double_encode_path_ ? UriEncode(request.path, true) : request.path;
  if (request.path.empty()) out += '/';
  out += '\n';
  out += CanonicalQuery(request.query);
  out += '\n';
  for (const auto& [name, value] : CanonicalHeaderMap(request.headers)) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  out += '\n';
  out += SignedHeaders(request.headers);
  out += '\n';
  out += request.payload_hash;
  return out;
}

std::string SigV4Signer::CredentialScope(std::string_view date) const {
  std::string out(date.substr(0, 8));
  out += '/';
  out += region_;
  out += '/';
  out += service_;
  out += "/aws4_request";
  return out;
}

std::string SigV4Signer::StringToSign(std::string_view amz_date,
                                      std::string_view canonical_request) const {
  std::string out = "AWS4-HMAC-SHA256\n";
  out += amz_date;
  out += '\n';
  out += CredentialScope(amz_date);
  out += '\n';
  out += base::Sha256Hex(canonical_request);
  return out;
}

std::string SigV4Signer::Signature(std::string_view amz_date,
                                   std::string_view string_to_sign) const {
  // Derived per call: four HMACs are microseconds next to a network round trip, and caching
  // the key per day would need a lock.
  std::string key = base::HmacSha256("AWS4" + secret_access_key_, amz_date.substr(0, 8));
  key = base::HmacSha256(key, region_);
  key = base::HmacSha256(key, service_);
  key = base::HmacSha256(key, "aws4_request");
  return base::HexEncode(base::HmacSha256(key, string_to_sign));
}

std::string SigV4Signer::Sign(SigningRequest* request, base::WallTime now) const {
  const std::string amz_date = AmzDate(now);
  request->headers.emplace_back("x-amz-date", amz_date);
  if (!session_token_.empty()) {
    request->headers.emplace_back("x-amz-security-token", session_token_);
  }
  const std::string canonical = CanonicalRequest(*request);
  const std::string signature = Signature(amz_date, StringToSign(amz_date, canonical));
  return "AWS4-HMAC-SHA256 Credential=" + access_key_id_ + "/" + CredentialScope(amz_date) +
         ", SignedHeaders=" + SignedHeaders(request->headers) + ", Signature=" + signature;
}

}  // namespace shadowfs::s3
