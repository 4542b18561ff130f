#include "blobstore/mem_blob_store.h"

#include "blobstore/base/digest.h"

namespace shadowfs::blobstore {

Result<ObjectInfo> MemBlobStore::Head(std::string_view key, const Preconditions& conditions) {
  SHADOWFS_RETURN_IF_ERROR(ValidateKey(key));
  base::MutexLock lock(&mu_);
  auto it = objects_.find(key);
  const ObjectInfo* current = it == objects_.end() ? nullptr : &it->second.info;
  SHADOWFS_RETURN_IF_ERROR(EvaluatePreconditions(conditions, current, false, key));
  if (current == nullptr) return Status::NotFound("no such object '" + std::string(key) + "'");
  return *current;
}

Result<GetResult> MemBlobStore::Get(std::string_view key, const GetOptions& options,
                                    ByteSink& sink) {
  SHADOWFS_RETURN_IF_ERROR(ValidateKey(key));
  GetResult result;
  std::shared_ptr<const std::string> data;
  {
    base::MutexLock lock(&mu_);
    auto it = objects_.find(key);
    const ObjectInfo* current = it == objects_.end() ? nullptr : &it->second.info;
    SHADOWFS_RETURN_IF_ERROR(EvaluatePreconditions(options.conditions, current, false, key));
    if (current == nullptr) return Status::NotFound("no such object '" + std::string(key) + "'");
    if (!options.version_id.empty() && options.version_id != current->version_id) {
      return Status::NotFound("no version '" + options.version_id + "' of '" + std::string(key) +
                              "'");
    }
    result.info = *current;
    data = it->second.data;
  }
  auto [begin, end] = options.range.Resolve(data->size());
  result.offset = begin;
  result.length = end - begin;
  if (result.length > 0) {
    SHADOWFS_RETURN_IF_ERROR(sink.WriteAt(0, std::string_view(*data).substr(begin, result.length)));
  }
  return result;
}

Result<ObjectInfo> MemBlobStore::Put(std::string_view key, ByteSource& body,
                                     const PutOptions& options) {
  SHADOWFS_RETURN_IF_ERROR(ValidateKey(key));
  auto data = std::make_shared<std::string>(body.size(), '\0');
  SHADOWFS_RETURN_IF_ERROR(body.ReadAt(0, std::span<char>(data->data(), data->size())));
  ObjectInfo info;
  info.key = std::string(key);
  info.size = data->size();
  info.etag = base::Md5Hex(*data);
  info.last_modified = clock_->Now();
  info.metadata = options.metadata;
  info.content_type = options.content_type;
  base::MutexLock lock(&mu_);
  auto it = objects_.find(key);
  const ObjectInfo* current = it == objects_.end() ? nullptr : &it->second.info;
  SHADOWFS_RETURN_IF_ERROR(EvaluatePreconditions(options.conditions, current, true, key));
  objects_[info.key] = Object{info, std::move(data)};
  return info;
}

Status MemBlobStore::Delete(std::string_view key) {
  SHADOWFS_RETURN_IF_ERROR(ValidateKey(key));
  base::MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) objects_.erase(it);
  return Status::Ok();
}

Result<ListPage> MemBlobStore::List(const ListOptions& options) {
  ListPageBuilder builder(options);
  base::MutexLock lock(&mu_);
  std::string start = std::max(options.prefix, builder.resume_after());
  for (auto it = objects_.lower_bound(start); it != objects_.end(); ++it) {
    if (it->first.compare(0, options.prefix.size(), options.prefix) != 0) break;
    if (!builder.Offer(it->second.info)) break;
  }
  return builder.Finish();
}

Result<ObjectInfo> MemBlobStore::Copy(std::string_view source_key, std::string_view dest_key,
                                      const CopyOptions& options) {
  SHADOWFS_RETURN_IF_ERROR(ValidateKey(source_key));
  SHADOWFS_RETURN_IF_ERROR(ValidateKey(dest_key));
  base::MutexLock lock(&mu_);
  auto it = objects_.find(source_key);
  const ObjectInfo* current = it == objects_.end() ? nullptr : &it->second.info;
  SHADOWFS_RETURN_IF_ERROR(
      EvaluatePreconditions(options.source_conditions, current, false, source_key));
  if (current == nullptr) {
    return Status::NotFound("no such object '" + std::string(source_key) + "'");
  }
  Object copy = it->second;
  copy.info.key = std::string(dest_key);
  copy.info.last_modified = clock_->Now();
  if (options.replace_metadata) {
    copy.info.metadata = *options.replace_metadata;
    copy.info.content_type = options.content_type;
  }
  objects_[copy.info.key] = copy;
  return copy.info;
}

}  // namespace shadowfs::blobstore
