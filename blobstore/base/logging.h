// Logger: leveled log lines to a sink. Components take a Logger& through Runtime; nothing logs
// through a global. Implementations are thread-safe. Callers never pass secrets (keys, tokens,
// signatures) to a logger; RedactSecrets() exists for text that came from outside.
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/mutex.h"

namespace shadowfs::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

std::string_view LogLevelName(LogLevel level);
// Parses "debug", "info", "warning"/"warn", "error"; false if unknown.
bool ParseLogLevel(std::string_view text, LogLevel* out);

class Logger {
 public:
  explicit Logger(LogLevel min_level = LogLevel::kInfo) : min_level_(min_level) {}
  virtual ~Logger() = default;
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void Log(LogLevel level, std::string_view message) {
    if (Enabled(level)) Write(level, message);
  }

 protected:
  virtual void Write(LogLevel level, std::string_view message) = 0;

 private:
  const LogLevel min_level_;
};

// "2026-11-22T10:00:00.123Z W message" lines on stderr.
class StderrLogger final : public Logger {
 public:
  using Logger::Logger;

 protected:
  void Write(LogLevel level, std::string_view message) override;

 private:
  Mutex mu_;
};

class NullLogger final : public Logger {
 public:
  NullLogger() : Logger(LogLevel::kError) {}

 protected:
  void Write(LogLevel, std::string_view) override {}
};

// Keeps every line, for tests that check what was (or was not) logged.
class CapturingLogger final : public Logger {
 public:
  CapturingLogger() : Logger(LogLevel::kDebug) {}
  std::vector<std::string> lines() const;
  bool Contains(std::string_view needle) const;

 protected:
  void Write(LogLevel level, std::string_view message) override;

 private:
  mutable Mutex mu_;
  std::vector<std::string> lines_ GUARDED_BY(mu_);
};

// Replaces credential-looking values (Authorization headers, Signature=, Credential=,
// X-Amz-Security-Token, aws_secret_access_key) with "<redacted>".
std::string RedactSecrets(std::string_view text);

// Streams one log line: LogStream(logger, LogLevel::kWarning) << "retrying " << key;
class LogStream {
 public:
  LogStream(Logger& logger, LogLevel level) : logger_(logger), level_(level) {}
  ~LogStream() {
    if (logger_.Enabled(level_)) logger_.Log(level_, out_.str());
  }
  template <typename T>
  LogStream& operator<<(const T& v) {
    if (logger_.Enabled(level_)) out_ << v;
    return *this;
  }

 private:
  Logger& logger_;
  LogLevel level_;
  std::ostringstream out_;
};

}  // namespace shadowfs::base
