#include "blobstore/base/logging.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace shadowfs::base {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  if (text == "debug")
    *out = LogLevel::kDebug;
  else if (text == "info")
    *out = LogLevel::kInfo;
  else if (text == "warning" || text == "warn")
    *out = LogLevel::kWarning;
  else if (text == "error")
    *out = LogLevel::kError;
  else
    return false;
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
  // Each marker is followed by optional spaces, '=' or ':', optional spaces, then the secret.
  // An Authorization header's secret runs to the end of the line; the others end at a
  // separator.
  static constexpr std::string_view kMarkers[] = {
      "authorization", "x-amz-security-token",  "x-amz-signature",  "signature",
      "credential",    "aws_secret_access_key", "aws_session_token"};
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  auto starts_with_at = [&](size_t pos, std::string_view marker) {
    if (pos + marker.size() > text.size()) return false;
    for (size_t i = 0; i < marker.size(); ++i) {
      if (lower(text[pos + i]) != marker[i]) return false;
    }
    return true;
  };
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool redacted = false;
    for (std::string_view marker : kMarkers) {
      if (!starts_with_at(i, marker)) continue;
      size_t j = i + marker.size();
      while (j < text.size() && text[j] == ' ') ++j;
      if (j >= text.size() || (text[j] != '=' && text[j] != ':')) continue;
      ++j;
      while (j < text.size() && text[j] == ' ') ++j;
      const bool to_line_end = marker == "authorization";
      size_t end = j;
      while (end < text.size() && text[end] != '\r' && text[end] != '\n' &&
             (to_line_end || (text[end] != ',' && text[end] != '&' && text[end] != ' '))) {
        ++end;
      }
      out.append(text.substr(i, j - i));
      out += "<redacted>";
      i = end;
      redacted = true;
      break;
    }
    if (!redacted) out += text[i++];
  }
  return out;
}

}  // namespace shadowfs::base
