// The access log: a mount's reads as JSON lines (`shadowfs mount --access-log FILE`), the input of
// `shadowfs predict train|eval`. One object per read, keys in this order:
//   {"t": 1700000000.123456, "key": "dir/file", "proc": "python3", "etag": "\"abc\"",
//    "size": 1048576, "off": 0, "len": 131072, "first": true, "shadow": false}
// t is Unix time in seconds with microsecond precision; size is the object's size; off/len the
// range read; first marks the first read through an open file; shadow whether a shadow served it.
// JSON strings must be UTF-8: a key, process name or ETag that is not valid UTF-8 is written
// instead as "key_b64" / "proc_b64" / "etag_b64" holding the bytes in base64 (RFC 4648), so every
// key round-trips byte for byte. Readers accept either form and ignore unknown fields.
//
// AccessLogWriter buffers lines and writes them (O_APPEND) when a second has passed or the buffer
// is large, on the caller's thread; not thread-safe (one writer per file, the event-drain thread).
// AccessLogReader is not thread-safe either; a malformed line is a Status naming its line number.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "blobstore/base/clock.h"
#include "blobstore/base/result.h"
#include "blobstore/base/status.h"
#include "predict/access_event.h"

namespace shadowfs::predict {

// One line, without the newline.
std::string FormatAccessLogLine(const AccessEvent& event);
// Parses one line (without the newline); InvalidArgument saying what is wrong.
base::Result<AccessEvent> ParseAccessLogLine(std::string_view line);

class AccessLogWriter {
 public:
  // Opens (creating, mode 0600, or appending to) `path`. `clock` paces the flushes.
  static base::Result<std::unique_ptr<AccessLogWriter>> Open(const std::string& path,
                                                             base::Clock* clock);
  ~AccessLogWriter();  // flushes
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Buffers one line; writes the buffer if a second passed since the last write or it is large.
  // Returns the first write error, after which lines are dropped (the log is a diagnostic and
  // must not stop the mount); the caller logs it once.
  base::Status Write(const AccessEvent& event);
  base::Status Flush();

 private:
  AccessLogWriter(int fd, std::string path, base::Clock* clock);

  const int fd_;
  const std::string path_;
  base::Clock* const clock_;
  std::string buffer_;
  base::MonoTime last_flush_;
  base::Status error_;
};

class AccessLogReader {
 public:
  static base::Result<std::unique_ptr<AccessLogReader>> Open(const std::string& path);
  // The next event into `event`: true, or false at the end of the file. Blank lines are skipped;
  // a malformed line is InvalidArgument "FILE:LINE: what".
  base::Result<bool> Next(AccessEvent* event);
  uint64_t line_number() const { return line_; }

 private:
  AccessLogReader(std::string path, std::ifstream in);

  const std::string path_;
  std::ifstream in_;
  uint64_t line_ = 0;
};

}  // namespace shadowfs::predict
