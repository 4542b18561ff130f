// One upload of the Uploader: the conditional PUT, recognizing our own earlier PUT on a replay,
// the conflict policy, and the shadow of the committed version.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "blobstore/base/logging.h"
#include "blobstore/base/unique_fd.h"
#include "fs/uploader_impl.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

namespace {

std::string UtcStamp(base::WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool IsOurs(const Result<blobstore::ObjectInfo>& head, const std::string& tag) {
  if (!head.ok()) return false;
  auto it = head->metadata.find(kIntentTagName);
  return it != head->metadata.end() && it->second == tag;
}

}  // namespace

Result<bool> Uploader::Impl::Conditional() {
  {
    base::MutexLock lock(&mu_);
    if (conditional_) return *conditional_;
  }
  SHADOWFS_ASSIGN_OR_RETURN(bool yes, primary->SupportsConditionalWrites());
  base::MutexLock lock(&mu_);
  conditional_ = yes;
  return yes;
}

Result<UploadResult> Uploader::Impl::Attempt(UploadJob& job) {
  const shadow::WriteIntent& in = job.intent;
  base::UniqueFd fd(::open(job.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::IOError("cannot open staging file " + job.path);
  blobstore::FileSource body(fd.get(), in.size);
  blobstore::PutOptions put;
  put.metadata = in.metadata;
  put.metadata[kIntentTagName] = job.tag;
  put.content_type = in.content_type;
  std::string base_etag = in.base_etag;
  if (!in.create_only && base_etag.empty()) {
    // Committed in writeback mode on top of an upload that had not finished: its base is
    // whatever our previous upload of the key produced.
    base::MutexLock lock(&mu_);
    if (auto it = last_etag_.find(in.key); it != last_etag_.end()) base_etag = it->second;
  }
  SHADOWFS_ASSIGN_OR_RETURN(bool conditional, Conditional());
  bool conflict = false;
  if (conditional) {
    if (in.create_only) {
      put.conditions.if_none_match = "*";
    } else {
      put.conditions.if_match = base_etag;
    }
  } else if (in.create_only || !base_etag.empty()) {
    // The server ignores conditions: compare just before the PUT (a race window remains).
    Result<blobstore::ObjectInfo> head = primary->Head(in.key);
    if (!head.ok() && head.status().code() != base::StatusCode::kNotFound) return head.status();
    if (IsOurs(head, job.tag)) {
      UploadResult done;
      done.committed = *head;
      return done;
    }
    conflict = in.create_only ? head.ok() : (!head.ok() || head->etag != base_etag);
  }
  if (!conflict) {
    Result<blobstore::ObjectInfo> r = primary->Put(in.key, body, put);
    if (r.ok()) {
      base::MutexLock lock(&mu_);
      last_etag_[in.key] = r->etag;
      UploadResult done;
      done.committed = *r;
      return done;
    }
    if (r.status().code() != base::StatusCode::kConflict) return r.status();
    // A 412 on a replay may be our own PUT that landed before a crash: its tag says so.
    Result<blobstore::ObjectInfo> head = primary->Head(in.key);
    if (!head.ok() && head.status().code() == base::StatusCode::kUnavailable) {
      return head.status();
    }
    if (IsOurs(head, job.tag)) {
      base::MutexLock lock(&mu_);
      last_etag_[in.key] = head->etag;
      UploadResult done;
      done.committed = *head;
      return done;
    }
  }
  return Resolve(job, body, put);
}

Result<UploadResult> Uploader::Impl::Resolve(UploadJob& job, blobstore::ByteSource& body,
                                             const blobstore::PutOptions& put_in) {
  const std::string& key = job.intent.key;
  {
    base::MutexLock lock(&mu_);
    ++conflicts_;
  }
  blobstore::PutOptions put = put_in;
  put.conditions = {};
  UploadResult out;
  switch (options.conflict) {
    case ConflictPolicy::kLastWriterWins: {
      base::LogStream(*runtime.logger, base::LogLevel::kWarning)
          << key << " was changed by another writer; overwriting it (conflict policy lww)";
      SHADOWFS_ASSIGN_OR_RETURN(out.committed, primary->Put(key, body, put));
      base::MutexLock lock(&mu_);
      last_etag_[key] = out.committed.etag;
      return out;
    }
    case ConflictPolicy::kCopy: {
      std::string name =
          key + ".conflict-" + options.hostname + "-" + UtcStamp(runtime.clock->Now());
      SHADOWFS_ASSIGN_OR_RETURN(bool conditional, Conditional());
      if (conditional) put.conditions.if_none_match = "*";
      Result<blobstore::ObjectInfo> r = primary->Put(name, body, put);
      if (!r.ok() && r.status().code() == base::StatusCode::kConflict) {
        name += "-" + std::to_string(job.intent.id);  // two conflicts of a key in one second
        r = primary->Put(name, body, put);
      }
      if (!r.ok()) return r.status();
      base::LogStream(*runtime.logger, base::LogLevel::kWarning)
          << key << " was changed by another writer; ours is kept as " << name
          << " (conflict policy copy)";
      out.committed = *r;
      out.conflict_copy = name;
      return out;
    }
    case ConflictPolicy::kFail:
    default: {
      std::string where = KeepInConflicts(job);
      base::LogStream(*runtime.logger, base::LogLevel::kError)
          << key << " was changed by another writer; our version is not uploaded and is kept in "
          << where << " (conflict policy fail)";
      return Status::IOError(key + " was changed by another writer while open; our data is in " +
                             where);
    }
  }
}

std::string Uploader::Impl::KeepInConflicts(const UploadJob& job) {
  namespace stdfs = std::filesystem;
  std::error_code ec;
  stdfs::path dir = stdfs::path(store->staging_dir()).parent_path() / "conflicts";
  stdfs::create_directories(dir, ec);
  std::string name = job.intent.key;
  std::replace(name.begin(), name.end(), '/', '%');
  stdfs::path dst =
      dir / (name + "." + UtcStamp(runtime.clock->Now()) + "." + std::to_string(job.intent.id));
  stdfs::rename(job.path, dst, ec);
  if (ec) return job.path + " (could not be moved: " + ec.message() + ")";
  return dst.string();
}

void Uploader::Impl::FillShadow(const UploadJob& job, const blobstore::ObjectInfo& committed) {
  if (committed.etag.empty()) return;
  base::UniqueFd fd(::open(job.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return;
  shadow::FillOptions fill;
  fill.origin = shadow::Origin::kWrite;
  fill.version_id = committed.version_id;
  fill.valid_from = runtime.clock->Now();
  const uint64_t size = job.intent.size;
  // Whole chunks at a time (Fill stores whole chunks and the last one), a few per call.
  const uint64_t step = uint64_t{store->chunk_size()} * 8;
  std::string buf;
  uint64_t offset = 0;
  do {
    uint64_t n = std::min(step, size - offset);
    buf.resize(n);
    blobstore::FileSource src(fd.get(), size);
    if (n > 0 && !src.ReadAt(offset, buf).ok()) return;
    Status s = store->Fill(job.intent.key, committed.etag, size, offset, buf, fill);
    if (!s.ok()) {
      // NoSpace or an I/O error only means later reads go to the primary.
      base::LogStream(*runtime.logger, base::LogLevel::kDebug)
          << "no shadow for the new version of " << job.intent.key << ": " << s.ToString();
      return;
    }
    offset += n;
  } while (offset < size);
}

}  // namespace shadowfs::fs
