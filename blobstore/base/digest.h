// Message digests and HMAC (MD5 for S3-style ETags, SHA-256 and HMAC-SHA256 for SigV4). The only
// place that includes OpenSSL's digest headers. Each object is single-threaded.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace shadowfs::base {

class Digest {
 public:
  enum class Algorithm { kMd5, kSha256 };
  explicit Digest(Algorithm algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void Update(std::string_view data);
  // Raw digest bytes; the object cannot be updated afterwards.
  std::string Finish();
  std::string FinishHex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Md5Hex(std::string_view data);
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HexEncode(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
// Standard or URL-safe alphabet; padding and whitespace are skipped. nullopt for any other
// character.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace shadowfs::base
