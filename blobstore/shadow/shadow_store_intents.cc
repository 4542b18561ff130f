// ShadowStore's write intents (DESIGN.md section 5): rows of the catalog's write_intents table
// and the staging directory whose files they name. The store only keeps them; the filesystem's
// Uploader decides what they mean.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>

#include "blobstore/shadow/shadow_store.h"
#include "blobstore/shadow/shadow_store_impl.h"

namespace shadowfs::shadow {

using base::Result;
using base::Status;

namespace {

std::string EncodeMetadata(const std::map<std::string, std::string>& metadata) {
  std::string out;
  for (const auto& [name, value] : metadata) {
    out.append(name).push_back('\0');
    out.append(value).push_back('\0');
  }
  return out;
}

std::map<std::string, std::string> DecodeMetadata(std::string_view in) {
  std::map<std::string, std::string> out;
  while (!in.empty()) {
    size_t a = in.find('\0');
    if (a == std::string_view::npos) break;
    size_t b = in.find('\0', a + 1);
    if (b == std::string_view::npos) break;
    out.emplace(std::string(in.substr(0, a)), std::string(in.substr(a + 1, b - a - 1)));
    in.remove_prefix(b + 1);
  }
  return out;
}

int64_t ToMicros(base::WallTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

Status ShadowStore::Impl::OpenStaging() {
  if (::mkdir(staging_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IOError("cannot create " + staging_dir + ": " + std::strerror(errno));
  }
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<IntentRow> intents, catalog->LoadIntents());
  std::set<std::string> named;
  for (const IntentRow& r : intents) named.insert(r.staging_file);
  // A staging file no intent names held writes that were never committed (the kernel had not
  // flushed them when the mount went away): nothing owes them to the primary.
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(staging_dir, ec)) {
    if (!named.count(e.path().filename().string())) fs::remove_all(e.path(), ec);
  }
  if (ec) return Status::IOError("cannot list " + staging_dir + ": " + ec.message());
  return Status::Ok();
}

const std::string& ShadowStore::staging_dir() const { return impl_->staging_dir; }

Result<int64_t> ShadowStore::RecordWriteIntent(const WriteIntent& intent) {
  IntentRow r;
  r.key = intent.key;
  r.staging_file = intent.staging_file;
  r.size = intent.size;
  r.create_only = intent.create_only;
  r.base_etag = intent.base_etag;
  r.metadata = EncodeMetadata(intent.metadata);
  r.content_type = intent.content_type;
  r.created_us = ToMicros(intent.created);
  r.attempts = intent.attempts;
  r.last_error = intent.last_error;
  return impl_->catalog->InsertIntent(r);
}

Status ShadowStore::UpdateWriteIntent(int64_t id, uint32_t attempts, std::string_view last_error) {
  return impl_->catalog->UpdateIntent(id, attempts, last_error);
}

Status ShadowStore::CompleteWriteIntent(int64_t id) { return impl_->catalog->DeleteIntent(id); }

Result<std::vector<WriteIntent>> ShadowStore::PendingWriteIntents() const {
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<IntentRow> rows, impl_->catalog->LoadIntents());
  std::vector<WriteIntent> out;
  out.reserve(rows.size());
  for (IntentRow& r : rows) {
    WriteIntent w;
    w.id = r.id;
    w.key = std::move(r.key);
    w.staging_file = std::move(r.staging_file);
    w.size = r.size;
    w.create_only = r.create_only;
    w.base_etag = std::move(r.base_etag);
    w.metadata = DecodeMetadata(r.metadata);
    w.content_type = std::move(r.content_type);
    w.created = base::WallTime(std::chrono::microseconds(r.created_us));
    w.attempts = r.attempts;
    w.last_error = std::move(r.last_error);
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace shadowfs::shadow
