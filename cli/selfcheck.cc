#include "cli/selfcheck.h"

#include <functional>
#include <string>

#include "blobstore/base/digest.h"

namespace shadowfs::cli {

using base::Status;
using blobstore::BlobStore;
using blobstore::ByteRange;
using blobstore::GetOptions;
using blobstore::PutOptions;

int RunSelfCheck(BlobStore& store, const std::string& prefix, std::ostream& out) {
  const std::string dir = prefix + ".shadowfs-selfcheck/";
  const std::string key = dir + "probe";
  const std::string data = "shadowfs self-check payload 0123456789";
  int failures = 0;
  // Each step builds on the previous one, so the first failure ends the check: its message is
  // the root cause, and repeating it for every later step would only bury it.
  auto step = [&](const char* name, const std::function<Status()>& fn) {
    if (failures > 0) return;
    Status s = fn();
    out << (s.ok() ? "ok    " : "FAIL  ") << name;
    if (!s.ok()) out << ": " << s.ToString();
    out << "\n";
    if (!s.ok()) ++failures;
  };
  out << "self-check of " << store.Describe() << "\n";
  step("put", [&] { return blobstore::PutString(store, key, data).status(); });
  step("get", [&]() -> Status {
    auto r = blobstore::GetString(store, key);
    if (!r.ok()) return r.status();
    return *r == data ? Status::Ok() : Status::Corruption("read back different bytes");
  });
  step("ranged get", [&]() -> Status {
    GetOptions options;
    options.range = ByteRange::Span(9, 4);
    auto r = blobstore::GetString(store, key, options);
    if (!r.ok()) return r.status();
    return *r == data.substr(9, 4) ? Status::Ok() : Status::Corruption("wrong range");
  });
  step("head etag", [&]() -> Status {
    auto r = store.Head(key);
    if (!r.ok()) return r.status();
    return r->size == data.size() ? Status::Ok() : Status::Corruption("wrong size");
  });
  step("conditional write", [&]() -> Status {
    auto supported = store.SupportsConditionalWrites();
    if (!supported.ok()) return supported.status();
    if (!*supported) {
      out << "      (the primary does not honour conditional writes)\n";
      return Status::Ok();
    }
    PutOptions create;
    create.conditions.if_none_match = "*";
    auto r = blobstore::PutString(store, key, "other", create);
    return r.status().IsConflict() ? Status::Ok()
                                   : Status::Corruption("If-None-Match:* did not conflict");
  });
  step("list", [&]() -> Status {
    blobstore::ListOptions options;
    options.prefix = dir;
    auto r = store.List(options);
    if (!r.ok()) return r.status();
    return r->objects.size() == 1 ? Status::Ok() : Status::Corruption("unexpected listing");
  });
  step("copy", [&] { return store.Copy(key, key + ".copy", {}).status(); });
  step("delete", [&]() -> Status {
    SHADOWFS_RETURN_IF_ERROR(store.Delete(key + ".copy"));
    SHADOWFS_RETURN_IF_ERROR(store.Delete(key));
    auto r = store.Head(key);
    return r.status().IsNotFound() ? Status::Ok() : Status::Corruption("object still there");
  });
  if (failures > 0) (void)store.Delete(key);
  out << (failures == 0 ? "self-check passed" : "self-check FAILED") << "\n";
  return failures;
}

}  // namespace shadowfs::cli
