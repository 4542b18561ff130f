#include "blobstore/base/logging.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <regex>

namespace shadowfs::base {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  if (text == "debug") *out = LogLevel::kDebug;
  else if (text == "info") *out = LogLevel::kInfo;
  else if (text == "warning" || text == "warn") *out = LogLevel::kWarning;
  else if (text == "error") *out = LogLevel::kError;
  else return false;
  return true;
}

void StderrLogger::Write(LogLevel level, std::string_view message) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  const char tag = "DIWE"[static_cast<int>(level)];
  MutexLock lock(&mu_);
  std::fprintf(stderr, "%s.%03dZ %c %.*s\n", stamp, static_cast<int>(millis), tag,
               static_cast<int>(message.size()), message.data());
}

std::vector<std::string> CapturingLogger::lines() const {
  MutexLock lock(&mu_);
  return lines_;
}

bool CapturingLogger::Contains(std::string_view needle) const {
  MutexLock lock(&mu_);
  for (const auto& line : lines_) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

void CapturingLogger::Write(LogLevel level, std::string_view message) {
  MutexLock lock(&mu_);
  lines_.push_back(std::string(LogLevelName(level)) + " " + std::string(message));
}

std::string RedactSecrets(std::string_view text) {
  static const std::regex kPatterns(
      R"((authorization:\s*)[^\r\n]*|((?:signature|credential|x-amz-security-token|x-amz-signature|aws_secret_access_key|aws_session_token)\s*[=:]\s*)[^,&\s\r\n]*)",
      std::regex::icase);
  std::string in(text);
  std::string out;
  auto it = std::sregex_iterator(in.begin(), in.end(), kPatterns);
  size_t last = 0;
  for (; it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out.append(in, last, m.position() - last);
    out += m[1].matched ? m[1].str() : m[2].str();
    out += "<redacted>";
    last = m.position() + m.length();
  }
  out.append(in, last, std::string::npos);
  return out;
}

}  // namespace shadowfs::base
