// ByteSink and ByteSource: where a Get writes and where a Put reads, at explicit offsets so that
// parallel ranged GETs and multipart parts can run concurrently and a retry can re-read or
// re-write a part. Implementations here are safe for concurrent calls on disjoint ranges.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "blobstore/base/mutex.h"
#include "blobstore/base/status.h"

namespace shadowfs::blobstore {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual base::Status WriteAt(uint64_t offset, std::string_view data) = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Fills `out` completely from `offset`; reading past size() is InvalidArgument.
  virtual base::Status ReadAt(uint64_t offset, std::span<char> out) = 0;
};

// Writes into a caller's fixed buffer; a write past its end is InvalidArgument.
class BufferSink final : public ByteSink {
 public:
  explicit BufferSink(std::span<char> buffer) : buffer_(buffer) {}
  base::Status WriteAt(uint64_t offset, std::string_view data) override;

 private:
  std::span<char> buffer_;
};

// Collects into a string that grows as needed.
class StringSink final : public ByteSink {
 public:
  base::Status WriteAt(uint64_t offset, std::string_view data) override EXCLUDES(mu_);
  std::string Take() EXCLUDES(mu_);

 private:
  base::Mutex mu_;
  std::string data_ GUARDED_BY(mu_);
};

// pwrite()s into an open file descriptor (borrowed) at base_offset + offset.
class FileSink final : public ByteSink {
 public:
  FileSink(int fd, uint64_t base_offset = 0) : fd_(fd), base_offset_(base_offset) {}
  base::Status WriteAt(uint64_t offset, std::string_view data) override;

 private:
  int fd_;
  uint64_t base_offset_;
};

// Reads from caller-owned memory that outlives the source.
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  base::Status ReadAt(uint64_t offset, std::span<char> out) override;

 private:
  std::string_view data_;
};

// pread()s `size` bytes of an open file descriptor (borrowed) starting at base_offset.
class FileSource final : public ByteSource {
 public:
  FileSource(int fd, uint64_t size, uint64_t base_offset = 0)
      : fd_(fd), size_(size), base_offset_(base_offset) {}
  uint64_t size() const override { return size_; }
  base::Status ReadAt(uint64_t offset, std::span<char> out) override;

 private:
  int fd_;
  uint64_t size_;
  uint64_t base_offset_;
};

}  // namespace shadowfs::blobstore
