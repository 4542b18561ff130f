// The shadow.* ops that read or change the store: ls, show, drop, pin, unpin, verify. They work
// on a store without a mount too (verify then checks checksums only). shadow.create is with
// warmup in ops_warmup.cc: both fetch from the primary.
#include <map>

#include "cli/ops_service.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

std::string Shown(const OpsContext& c, const std::string& key) {
  return !c.prefix.empty() && key.starts_with(c.prefix) ? key.substr(c.prefix.size()) : key;
}

Result<Json> Ls(const OpsContext& c, const Json& args) {
  SHADOWFS_ASSIGN_OR_RETURN(std::string key, ops::KeyOf(c, args));
  Json out = Json::array();
  for (const shadow::ShadowInfo& info : ops::ShadowsAt(c, key)) {
    out.push_back(ops::ShadowJson(c, info));
  }
  return out;
}

Result<Json> Show(const OpsContext& c, const Json& args) {
  SHADOWFS_ASSIGN_OR_RETURN(std::string key, ops::KeyOf(c, args));
  std::optional<shadow::ShadowInfo> info = c.store->Find(key);
  if (!info) {
    size_t under = key.empty() ? 0 : c.store->List(key + "/").size();
    if (under > 0) {
      return Status::InvalidArgument("'" + Shown(c, key) + "' is a directory holding " +
                                     std::to_string(under) + " shadows: use `shadowfs shadow ls`");
    }
    return Status::NotFound("no shadow of '" + Shown(c, key) + "'");
  }
  Json j = ops::ShadowJson(c, *info);
  j["version_id"] = info->version_id;
  j["chunk_size"] = info->chunk_size;
  Json codecs = Json::object();
  for (int c = 0; c < shadow::kCodecCount; ++c) {
    codecs[std::string(shadow::CodecName(static_cast<shadow::Codec>(c)))] =
        info->chunks_by_codec[static_cast<size_t>(c)];
  }
  j["chunks_by_codec"] = std::move(codecs);
  j["min_confidence"] = c.store->min_confidence();
  return j;
}

Result<Json> Drop(const OpsContext& c, const Json& args) {
  SHADOWFS_ASSIGN_OR_RETURN(std::string key, ops::KeyOf(c, args));
  const bool recursive = args.value("recursive", false);
  std::vector<shadow::ShadowInfo> targets;
  if (auto one = c.store->Find(key); one && !key.empty()) {
    targets.push_back(std::move(*one));
  } else {
    std::vector<shadow::ShadowInfo> under = ops::ShadowsAt(c, key);
    if (under.empty()) return Status::NotFound("no shadow of '" + Shown(c, key) + "'");
    if (!recursive) {
      return Status::InvalidArgument("'" + Shown(c, key) + "' is a directory holding " +
                                     std::to_string(under.size()) +
                                     " shadows: use --recursive to drop them all");
    }
    targets = std::move(under);
  }
  uint64_t dropped = 0, bytes = 0;
  for (const shadow::ShadowInfo& info : targets) {
    Status s = c.store->Drop(info.key);
    if (s.IsNotFound()) continue;  // evicted or dropped meanwhile: gone either way
    SHADOWFS_RETURN_IF_ERROR(s);
    ++dropped;
    bytes += info.bytes_stored;
  }
  return Json{{"dropped", dropped}, {"bytes", bytes}};
}

Result<Json> Pin(const OpsContext& c, const Json& args, bool pinned) {
  SHADOWFS_ASSIGN_OR_RETURN(std::string key, ops::KeyOf(c, args));
  if (!c.store->Find(key)) return Status::NotFound("no shadow of '" + Shown(c, key) + "'");
  SHADOWFS_RETURN_IF_ERROR(c.store->SetPinned(key, pinned));
  return Json{{"key", key}, {"path", Shown(c, key)}, {"pinned", pinned}};
}

// The current versions of `keys` on the primary: one listing per directory prefix when several
// keys share it (as the reconciler does), a HEAD for a single key. Absent keys are not in the
// map; a failed request is an error.
Result<std::map<std::string, std::string>> PrimaryVersions(const OpsContext& c,
                                                           const std::string& root,
                                                           const std::vector<std::string>& keys) {
  std::map<std::string, std::string> etags;
  if (keys.size() == 1 && keys[0] == root) {
    auto head = c.primary->Head(root);
    if (head.ok()) etags[root] = head->etag;
    if (!head.ok() && !head.status().IsNotFound()) return head.status();
    return etags;
  }
  blobstore::ListOptions list;
  list.prefix = root.empty() || root.ends_with("/") || root == c.prefix ? root : root + "/";
  if (auto exact = c.store->Find(root); exact && !root.empty()) {
    auto head = c.primary->Head(root);
    if (head.ok()) etags[root] = head->etag;
    if (!head.ok() && !head.status().IsNotFound()) return head.status();
  }
  for (;;) {
    SHADOWFS_ASSIGN_OR_RETURN(blobstore::ListPage page, c.primary->List(list));
    for (const blobstore::ObjectInfo& o : page.objects) etags[o.key] = o.etag;
    if (!page.truncated) break;
    list.continuation_token = page.next_continuation_token;
  }
  return etags;
}

Result<Json> Verify(const OpsContext& c, const Json& args) {
  SHADOWFS_ASSIGN_OR_RETURN(std::string key, ops::KeyOf(c, args));
  std::vector<shadow::ShadowInfo> shadows = ops::ShadowsAt(c, key);
  if (shadows.empty() && !(key.empty() || key == c.prefix)) {
    return Status::NotFound("no shadow of '" + Shown(c, key) + "'");
  }
  // Checksums: one full pass over the store's chunks (Scrub resumes where it stopped, so a pass
  // of used_bytes covers every chunk once). Corrupt chunks are dropped by the store.
  SHADOWFS_ASSIGN_OR_RETURN(shadow::ShadowStore::MaintenanceReport scrub,
                            c.store->Scrub(c.store->used_bytes() + 1));
  Json out = {{"shadows", shadows.size()},
              {"chunks_scrubbed", scrub.chunks_scrubbed},
              {"corrupt_chunks_dropped", scrub.corrupt_chunks}};
  if (c.primary == nullptr) {
    out["versions_checked"] = false;
    return out;
  }
  std::vector<std::string> keys;
  keys.reserve(shadows.size());
  for (const auto& s : shadows) keys.push_back(s.key);
  SHADOWFS_ASSIGN_OR_RETURN(auto etags, PrimaryVersions(c, key, keys));
  uint64_t current = 0, stale = 0, deleted = 0;
  Json fixed = Json::array();
  base::WallTime now = c.runtime.clock->Now();
  for (const shadow::ShadowInfo& s : shadows) {
    auto it = etags.find(s.key);
    if (it == etags.end()) {
      SHADOWFS_RETURN_IF_ERROR(c.store->ObserveDeleted(s.key, now));
      ++deleted;
      fixed.push_back({{"path", Shown(c, s.key)}, {"what", "deleted on the primary: dropped"}});
      continue;
    }
    SHADOWFS_ASSIGN_OR_RETURN(bool match, c.store->Verify(s.key, it->second, now));
    if (match) {
      ++current;
    } else {
      ++stale;
      fixed.push_back({{"path", Shown(c, s.key)}, {"what", "changed on the primary: dropped"}});
    }
  }
  out["versions_checked"] = true;
  out["current"] = current;
  out["stale_dropped"] = stale;
  out["deleted_dropped"] = deleted;
  out["fixed"] = std::move(fixed);
  return out;
}

}  // namespace

void RegisterShadowOps(OpsService& service) {
  const OpsContext* c = &service.context();
  service.Register("shadow.ls", [c](const Json& a, const auto&) { return Ls(*c, a); });
  service.Register("shadow.show", [c](const Json& a, const auto&) { return Show(*c, a); });
  service.Register("shadow.drop", [c](const Json& a, const auto&) { return Drop(*c, a); });
  service.Register("shadow.pin", [c](const Json& a, const auto&) { return Pin(*c, a, true); });
  service.Register("shadow.unpin", [c](const Json& a, const auto&) { return Pin(*c, a, false); });
  service.Register("shadow.verify", [c](const Json& a, const auto&) { return Verify(*c, a); });
}

}  // namespace shadowfs::cli
