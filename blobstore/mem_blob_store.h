// MemBlobStore: a complete BlobStore in memory, for tests of every layer above the primary (like
// leveldb's memenv). ETags are the MD5 of the content, as S3 gives for single-part uploads.
// Thread-safe: one mutex guards the map; no lock is held while calling a sink or source.
#pragma once

#include <map>
#include <string>

#include "blobstore/base/clock.h"
#include "blobstore/base/mutex.h"
#include "blobstore/blob_store.h"

namespace shadowfs::blobstore {

class MemBlobStore final : public BlobStore {
 public:
  explicit MemBlobStore(base::Clock* clock) : clock_(clock) {}

  Result<ObjectInfo> Head(std::string_view key, const Preconditions& conditions) override;
  using BlobStore::Head;
  Result<GetResult> Get(std::string_view key, const GetOptions& options, ByteSink& sink) override;
  Result<ObjectInfo> Put(std::string_view key, ByteSource& body,
                         const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  Result<ListPage> List(const ListOptions& options) override;
  Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                          const CopyOptions& options) override;
  Result<bool> SupportsConditionalWrites() override { return true; }
  std::string Describe() const override { return "mem://"; }

 private:
  struct Object {
    ObjectInfo info;
    std::shared_ptr<const std::string> data;  // shared so readers copy out without the lock
  };

  base::Clock* const clock_;
  base::Mutex mu_;
  std::map<std::string, Object, std::less<>> objects_ GUARDED_BY(mu_);
};

}  // namespace shadowfs::blobstore
