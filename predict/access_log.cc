#include "predict/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>

#include "blobstore/base/digest.h"

namespace shadowfs::predict {
namespace {

constexpr size_t kFlushBytes = 256 << 10;
constexpr auto kFlushInterval = std::chrono::seconds(1);

// Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF), as JSON requires.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

void AppendString(std::string* out, const char* name, std::string_view value) {
  bool utf8 = ValidUtf8(value);
  *out += ",\"";
  *out += name;
  if (utf8) {
    *out += "\":";
    *out += nlohmann::json(std::string(value)).dump();
  } else {
    *out += "_b64\":\"";
    *out += base::Base64Encode(value);
    *out += '"';
  }
}

// The string field `name` (or its base64 form), "" when absent.
base::Result<std::string> GetString(const nlohmann::json& j, const std::string& name) {
  auto it = j.find(name);
  if (it != j.end()) {
    if (!it->is_string()) return base::Status::InvalidArgument("\"" + name + "\" is not a string");
    return it->get<std::string>();
  }
  it = j.find(name + "_b64");
  if (it == j.end()) return std::string();
  if (!it->is_string()) {
    return base::Status::InvalidArgument("\"" + name + "_b64\" is not a string");
  }
  std::optional<std::string> bytes = base::Base64Decode(it->get_ref<const std::string&>());
  if (!bytes) return base::Status::InvalidArgument("\"" + name + "_b64\" is not base64");
  return *std::move(bytes);
}

base::Result<uint64_t> GetCount(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return uint64_t{0};
  if (!it->is_number_unsigned()) {
    return base::Status::InvalidArgument(std::string("\"") + name +
                                         "\" is not a non-negative integer");
  }
  return it->get<uint64_t>();
}

base::Result<bool> GetBool(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return false;
  if (!it->is_boolean())
    return base::Status::InvalidArgument(std::string("\"") + name + "\" is not true or false");
  return it->get<bool>();
}

std::shared_ptr<const std::string> Shared(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

}  // namespace

std::string FormatAccessLogLine(const AccessEvent& e) {
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(e.time.time_since_epoch()).count();
  char t[48];
  std::snprintf(t, sizeof(t), "{\"t\":%s%lld.%06lld", us < 0 ? "-" : "",
                static_cast<long long>(std::llabs(us) / 1000000),
                static_cast<long long>(std::llabs(us) % 1000000));
  std::string out = t;
  AppendString(&out, "key", e.key ? *e.key : std::string_view());
  AppendString(&out, "proc", e.process_name ? *e.process_name : std::string_view());
  AppendString(&out, "etag", e.etag ? *e.etag : std::string_view());
  out += ",\"size\":" + std::to_string(e.object_size);
  out += ",\"off\":" + std::to_string(e.offset);
  out += ",\"len\":" + std::to_string(e.length);
  out += e.first_read ? ",\"first\":true" : ",\"first\":false";
  out += e.from_shadow ? ",\"shadow\":true}" : ",\"shadow\":false}";
  return out;
}

base::Result<AccessEvent> ParseAccessLogLine(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return base::Status::InvalidArgument("not a JSON object");
  if (!j.is_object()) return base::Status::InvalidArgument("not a JSON object");
  AccessEvent e;
  auto t = j.find("t");
  if (t == j.end() || !t->is_number()) {
    return base::Status::InvalidArgument("\"t\" (Unix seconds) is missing or not a number");
  }
  double secs = t->get<double>();
  if (!std::isfinite(secs) || std::abs(secs) > 1e11) {
    return base::Status::InvalidArgument("\"t\" is out of range");
  }
  e.time = base::WallTime(std::chrono::microseconds(std::llround(secs * 1e6)));
  SHADOWFS_ASSIGN_OR_RETURN(std::string key, GetString(j, "key"));
  if (key.empty()) return base::Status::InvalidArgument("\"key\" is missing or empty");
  SHADOWFS_ASSIGN_OR_RETURN(std::string proc, GetString(j, "proc"));
  SHADOWFS_ASSIGN_OR_RETURN(std::string etag, GetString(j, "etag"));
  e.key = Shared(std::move(key));
  e.process_name = Shared(std::move(proc));
  e.etag = Shared(std::move(etag));
  SHADOWFS_ASSIGN_OR_RETURN(e.object_size, GetCount(j, "size"));
  SHADOWFS_ASSIGN_OR_RETURN(e.offset, GetCount(j, "off"));
  SHADOWFS_ASSIGN_OR_RETURN(e.length, GetCount(j, "len"));
  SHADOWFS_ASSIGN_OR_RETURN(e.first_read, GetBool(j, "first"));
  SHADOWFS_ASSIGN_OR_RETURN(e.from_shadow, GetBool(j, "shadow"));
  return e;
}

AccessLogWriter::AccessLogWriter(int fd, std::string path, base::Clock* clock)
    : fd_(fd), path_(std::move(path)), clock_(clock), last_flush_(clock->Monotonic()) {}

base::Result<std::unique_ptr<AccessLogWriter>> AccessLogWriter::Open(const std::string& path,
                                                                     base::Clock* clock) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return base::ErrnoStatus(errno, "opening access log " + path);
  return std::unique_ptr<AccessLogWriter>(new AccessLogWriter(fd, path, clock));
}

AccessLogWriter::~AccessLogWriter() {
  (void)Flush();
  ::close(fd_);
}

base::Status AccessLogWriter::Write(const AccessEvent& event) {
  if (!error_.ok()) return error_;
  buffer_ += FormatAccessLogLine(event);
  buffer_ += '\n';
  if (buffer_.size() >= kFlushBytes || clock_->Monotonic() - last_flush_ >= kFlushInterval) {
    return Flush();
  }
  return base::Status::Ok();
}

base::Status AccessLogWriter::Flush() {
  last_flush_ = clock_->Monotonic();
  if (!error_.ok()) return error_;
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error_ = base::ErrnoStatus(errno, "writing access log " + path_);
      buffer_.clear();
      return error_;
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return base::Status::Ok();
}

AccessLogReader::AccessLogReader(std::string path, std::ifstream in)
    : path_(std::move(path)), in_(std::move(in)) {}

base::Result<std::unique_ptr<AccessLogReader>> AccessLogReader::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::ErrnoStatus(errno, "opening access log " + path);
  return std::unique_ptr<AccessLogReader>(new AccessLogReader(path, std::move(in)));
}

base::Result<bool> AccessLogReader::Next(AccessEvent* event) {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    base::Result<AccessEvent> e = [&]() -> base::Result<AccessEvent> {
      try {
        return ParseAccessLogLine(line);
      } catch (const std::exception& ex) {  // nlohmann's, should a check above miss a case
        return base::Status::InvalidArgument(ex.what());
      }
    }();
    if (!e.ok()) {
      return base::Status::InvalidArgument(path_ + ":" + std::to_string(line_) + ": " +
                                           e.status().message());
    }
    *event = *std::move(e);
    return true;
  }
  if (in_.bad()) return base::Status::IOError("reading access log " + path_);
  return false;
}

}  // namespace shadowfs::predict
