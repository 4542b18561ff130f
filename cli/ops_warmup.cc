// The ops that fetch from the primary through the mount's Materializer: warmup (files and
// directories, recursive) and shadow.create (one file, or a directory with recursive; with a
// TTL, a future valid-from, a pin). Both report progress after every piece of a file.
#include "cli/ops_service.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

struct Target {
  std::string key;
  std::string etag;
  uint64_t size = 0;
};

std::string Shown(const OpsContext& c, const std::string& key) {
  return !c.prefix.empty() && key.starts_with(c.prefix) ? key.substr(c.prefix.size()) : key;
}

Status NeedsMount(const OpsContext& c, const std::string& what) {
  if (c.materializer != nullptr && c.primary != nullptr) return Status::Ok();
  return Status::NotSupported(what + " fetches from the primary and needs a running mount: " +
                              "name a path inside the mount instead of --store");
}

// The objects `key` names on the primary: the file itself, or every file under it if it is a
// directory (`*is_dir`). Directory markers ("dir/") are skipped.
Result<std::vector<Target>> Expand(const OpsContext& c, const std::string& key, bool* is_dir) {
  std::vector<Target> out;
  *is_dir = key.empty() || key == c.prefix || key.ends_with("/");
  if (!*is_dir) {
    auto head = c.primary->Head(key);
    if (head.ok()) {
      out.push_back({key, head->etag, head->size});
      return out;
    }
    if (!head.status().IsNotFound()) return head.status();
  }
  blobstore::ListOptions list;
  list.prefix = *is_dir ? key : key + "/";
  for (;;) {
    SHADOWFS_ASSIGN_OR_RETURN(blobstore::ListPage page, c.primary->List(list));
    for (const blobstore::ObjectInfo& o : page.objects) {
      if (!o.key.ends_with("/")) out.push_back({o.key, o.etag, o.size});
    }
    if (!page.truncated) break;
    list.continuation_token = page.next_continuation_token;
  }
  if (out.empty() && !*is_dir) {
    return Status::NotFound("no such file or directory on the primary: '" + Shown(c, key) + "'");
  }
  *is_dir = true;
  return out;
}

// Materializes `targets` piece by piece, reporting progress; a failed file is recorded and the
// rest go on. Stops early (Unavailable) when `progress` says the requester is gone.
Result<Json> Fill(const OpsContext& c, const std::vector<Target>& targets,
                  const shadow::FillOptions& fill, const OpsService::Progress& progress,
                  const std::function<Status(const Target&)>& after_each) {
  uint64_t total_bytes = 0;
  for (const Target& t : targets) total_bytes += t.size;
  const uint64_t piece = uint64_t{c.store->chunk_size()} * 16;
  uint64_t files_done = 0, bytes_done = 0;
  Json failed = Json::array();
  auto report = [&](const std::string& key) {
    return progress({{"files_done", files_done},
                     {"files_total", targets.size()},
                     {"bytes_done", bytes_done},
                     {"bytes_total", total_bytes},
                     {"failed", failed.size()},
                     {"file", Shown(c, key)}});
  };
  if (!report("")) return Status::Unavailable("cancelled");
  for (const Target& t : targets) {
    Status s;
    uint64_t offset = 0;
    do {
      shadow::MaterializeRequest r;
      r.key = t.key;
      r.offset = offset;
      r.length = t.size == 0 ? 0 : std::min(piece, t.size - offset);
      r.expected_etag = t.etag;
      r.fill = fill;
      s = c.materializer->Materialize(r);
      if (!s.ok()) break;
      bytes_done += r.length;
      offset += r.length;
      if (offset < t.size && !report(t.key)) return Status::Unavailable("cancelled");
    } while (offset < t.size);
    if (s.ok() && after_each) s = after_each(t);
    if (!s.ok()) {
      bytes_done += t.size - offset;  // counted as dealt with, so the bar still ends at 100%
      failed.push_back({{"path", Shown(c, t.key)}, {"error", s.message()}});
    }
    ++files_done;
    if (!report(t.key)) return Status::Unavailable("cancelled");
  }
  return Json{{"files", targets.size()},
              {"bytes", total_bytes},
              {"materialized", targets.size() - failed.size()},
              {"failed", std::move(failed)}};
}

Result<Json> Warmup(const OpsContext& c, const Json& args, const OpsService::Progress& progress) {
  SHADOWFS_RETURN_IF_ERROR(NeedsMount(c, "warmup"));
  std::vector<Target> targets;
  auto add = [&](const Json& one) -> Status {
    SHADOWFS_ASSIGN_OR_RETURN(std::string key, ops::KeyOf(c, one));
    bool is_dir = false;
    SHADOWFS_ASSIGN_OR_RETURN(std::vector<Target> found, Expand(c, key, &is_dir));
    targets.insert(targets.end(), found.begin(), found.end());
    return Status::Ok();
  };
  for (const Json& p : args.value("paths", Json::array())) {
    SHADOWFS_RETURN_IF_ERROR(add(Json{{"path", p.get<std::string>()}}));
  }
  for (const Json& k : args.value("keys", Json::array())) {
    SHADOWFS_RETURN_IF_ERROR(add(Json{{"key", k.get<std::string>()}}));
  }
  shadow::FillOptions fill;
  fill.origin = shadow::Origin::kManual;
  return Fill(c, targets, fill, progress, nullptr);
}

Result<Json> Create(const OpsContext& c, const Json& args, const OpsService::Progress& progress) {
  SHADOWFS_RETURN_IF_ERROR(NeedsMount(c, "shadow create"));
  SHADOWFS_ASSIGN_OR_RETURN(std::string key, ops::KeyOf(c, args));
  bool is_dir = false;
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<Target> targets, Expand(c, key, &is_dir));
  if (is_dir && !args.value("recursive", false)) {
    return Status::InvalidArgument("'" + Shown(c, key) +
                                   "' is a directory: use --recursive to shadow every file in it");
  }
  shadow::FillOptions fill;
  fill.origin = shadow::Origin::kManual;
  fill.pin = args.value("pin", false);
  std::optional<std::chrono::seconds> ttl;
  if (args.contains("ttl_seconds")) {
    int64_t seconds = args.at("ttl_seconds").get<int64_t>();
    if (seconds <= 0) return Status::InvalidArgument("the TTL must be positive");
    ttl = std::chrono::seconds(seconds);
    fill.ttl = ttl;
  }
  if (args.contains("valid_from_unix")) {
    fill.valid_from =
        base::WallTime(std::chrono::seconds(args.at("valid_from_unix").get<int64_t>()));
  }
  // A shadow that already held this version keeps its own settings through Materialize: apply
  // the pin and the TTL the user asked for explicitly.
  auto settle = [&](const Target& t) -> Status {
    if (fill.pin) SHADOWFS_RETURN_IF_ERROR(c.store->SetPinned(t.key, true));
    if (ttl) SHADOWFS_RETURN_IF_ERROR(c.store->SetExpiry(t.key, ttl));
    return Status::Ok();
  };
  return Fill(c, targets, fill, progress, settle);
}

}  // namespace

void RegisterWarmupOps(OpsService& service) {
  const OpsContext* c = &service.context();
  service.Register("warmup",
                   [c](const Json& a, const OpsService::Progress& p) { return Warmup(*c, a, p); });
  service.Register("shadow.create",
                   [c](const Json& a, const OpsService::Progress& p) { return Create(*c, a, p); });
}

}  // namespace shadowfs::cli
