#include "blobstore/s3/s3_endpoint.h"

#include <cctype>

#include "blobstore/s3/sigv4.h"

namespace shadowfs::s3 {

using base::Result;
using base::Status;

Result<ParsedUrl> ParseEndpointUrl(std::string_view url) {
  const std::string quoted = "'" + std::string(url) + "'";
  ParsedUrl out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return Status::InvalidArgument("endpoint " + quoted +
                                   " is not a URL: expected http://host[:port] or https://...");
  }
  out.scheme = std::string(url.substr(0, sep));
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.scheme != "http" && out.scheme != "https") {
    return Status::InvalidArgument("endpoint " + quoted + " must use http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && rest.substr(slash) != "/") {
    return Status::InvalidArgument("endpoint " + quoted +
                                   " must not have a path, query or fragment; give the bucket "
                                   "separately");
  }
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("endpoint " + quoted +
                                   " must not carry user information; use credentials instead");
  }
  if (authority.find_first_of("?#") != std::string_view::npos) {
    return Status::InvalidArgument("endpoint " + quoted + " must not have a query or fragment");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("endpoint " + quoted + " has an unterminated IPv6 address");
    }
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::InvalidArgument("endpoint " + quoted + " is malformed");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  if (host.empty()) return Status::InvalidArgument("endpoint " + quoted + " has no host");
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '[' &&
        c != ']' && c != ':' && c != '_') {
      return Status::InvalidArgument("endpoint " + quoted + " has an invalid host name");
    }
  }
  out.host = std::string(host);
  if (!port.empty() || authority.back() == ':') {
    if (port.empty() || port.size() > 5) {
      return Status::InvalidArgument("endpoint " + quoted + " has an invalid port");
    }
    int value = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return Status::InvalidArgument("endpoint " + quoted + " has an invalid port");
      }
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) {
      return Status::InvalidArgument("endpoint " + quoted + " has a port out of range");
    }
    out.port = value;
  }
  return out;
}

Status ValidateBucketName(std::string_view bucket, bool virtual_hosted) {
  const std::string quoted = "'" + std::string(bucket) + "'";
  if (bucket.empty()) return Status::InvalidArgument("no bucket name given");
  const size_t max = virtual_hosted ? 63 : 255;
  if (bucket.size() < 3 || bucket.size() > max) {
    return Status::InvalidArgument("bucket name " + quoted + " must be 3 to " +
                                   std::to_string(max) + " characters long");
  }
  for (char c : bucket) {
    bool dns = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    bool legacy = (c >= 'A' && c <= 'Z') || c == '_';
    if (!dns && !(legacy && !virtual_hosted)) {
      return Status::InvalidArgument(
          "bucket name " + quoted + " may only contain lower-case letters, digits, '.' and '-'" +
          (virtual_hosted ? " (virtual-hosted addressing needs a DNS-safe name)" : ""));
    }
  }
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) {
    return Status::InvalidArgument("bucket name " + quoted +
                                   " must start and end with a letter or digit");
  }
  if (bucket.find("..") != std::string_view::npos) {
    return Status::InvalidArgument("bucket name " + quoted + " must not contain '..'");
  }
  bool ip_like = true;
  int dots = 0;
  for (char c : bucket) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      ip_like = false;
    }
  }
  if (ip_like && dots == 3) {
    return Status::InvalidArgument("bucket name " + quoted + " must not look like an IP address");
  }
  return Status::Ok();
}

Result<S3Endpoint> S3Endpoint::Create(std::string_view endpoint, std::string_view region,
                                      std::string bucket, bool path_style) {
  std::string text(endpoint);
  if (text.empty()) {
    if (region.empty()) {
      return Status::InvalidArgument("neither an endpoint nor a region is configured");
    }
    text = "https://s3." + std::string(region) + ".amazonaws.com";
  }
  SHADOWFS_ASSIGN_OR_RETURN(ParsedUrl url, ParseEndpointUrl(text));
  SHADOWFS_RETURN_IF_ERROR(ValidateBucketName(bucket, !path_style));
  if (!path_style && url.scheme == "https" && bucket.find('.') != std::string::npos) {
    return Status::InvalidArgument("bucket name '" + bucket +
                                   "' contains '.', which breaks TLS certificate checks with "
                                   "virtual-hosted addressing; use path-style addressing");
  }
  if (!path_style && url.host.front() == '[') {
    return Status::InvalidArgument(
        "virtual-hosted addressing needs a host name, not an IP address; use path-style");
  }
  std::string authority = url.host;
  if (url.port != 0) authority += ":" + std::to_string(url.port);
  std::string host = path_style ? authority : bucket + "." + authority;
  while (!text.empty() && text.back() == '/') text.pop_back();
  return S3Endpoint(url.scheme + "://" + host, host, std::move(bucket), path_style, text);
}

S3Endpoint::S3Endpoint(std::string base_url, std::string host, std::string bucket, bool path_style,
                       std::string endpoint_text)
    : base_url_(std::move(base_url)),
      host_(std::move(host)),
      bucket_(std::move(bucket)),
      path_style_(path_style),
      endpoint_text_(std::move(endpoint_text)) {}

std::string S3Endpoint::Path(std::string_view key) const {
  std::string out = "/";
  if (path_style_) {
    out += UriEncode(bucket_, false);
    if (key.empty()) return out;
    out += '/';
  }
  out += UriEncode(key, true);
  return out;
}

std::string S3Endpoint::Url(std::string_view key, std::string_view encoded_query) const {
  std::string out = base_url_ + Path(key);
  if (!encoded_query.empty()) {
    out += '?';
    out += encoded_query;
  }
  return out;
}

std::string S3Endpoint::CopySource(std::string_view key, std::string_view version_id) const {
  std::string out = "/" + UriEncode(bucket_, false) + "/" + UriEncode(key, true);
  if (!version_id.empty()) out += "?versionId=" + UriEncode(version_id, false);
  return out;
}

std::string S3Endpoint::Describe() const { return "s3://" + bucket_ + " at " + endpoint_text_; }

}  // namespace shadowfs::s3
