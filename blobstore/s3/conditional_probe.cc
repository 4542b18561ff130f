#include "blobstore/s3/conditional_probe.h"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "blobstore/base/digest.h"
#include "blobstore/base/logging.h"
#include "blobstore/s3/multipart_upload.h"
#include "blobstore/s3/object_headers.h"

namespace shadowfs::s3 {

using base::Result;
using base::Status;

Headers WriteConditionHeaders(const blobstore::Preconditions& conditions,
                              const ConditionalSupport& support) {
  auto form = [&](const std::string& etag) {
    if (etag == "*") return etag;
    return support.quote_if_match ? QuoteEtag(etag) : UnquoteEtag(etag);
  };
  Headers headers;
  if (!conditions.if_match.empty()) headers.emplace_back("if-match", form(conditions.if_match));
  if (!conditions.if_none_match.empty()) {
    headers.emplace_back("if-none-match", form(conditions.if_none_match));
  }
  return headers;
}

Result<ConditionalSupport> ConditionalWriteProbe::Get() {
  {
    base::MutexLock lock(&mu_);
    while (probing_) done_.Wait(&mu_);
    if (cached_) return *cached_;
    probing_ = true;
  }
  Result<ConditionalSupport> result = Probe();
  base::MutexLock lock(&mu_);
  probing_ = false;
  if (result.ok()) cached_ = *result;
  done_.SignalAll();
  return result;
}

Result<ConditionalSupport> ConditionalWriteProbe::Probe() {
  // A fresh name per probe, so concurrent probes (other mounts, other hosts) do not collide.
  // Hashing the process id, the time and this object's address avoids std::random_device,
  // which may throw.
  const std::string key =
      std::string(kProbePrefix) +
      base::Sha256Hex(std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
                      std::to_string(reinterpret_cast<uintptr_t>(this)) +
                      std::to_string(::getpid()) +
                      std::to_string(base::ToUnixSeconds(client_.runtime().clock->Now())))
          .substr(0, 32);
  const std::string body = "shadowfs conditional write probe";
  const std::string etag = base::Md5Hex(body);
  std::vector<std::string> versions;  // to delete afterwards on versioned buckets
  bool created = false;

  // One PUT of the scratch object; the HTTP status, or an error that stops the probe.
  auto put = [&](std::string_view header, const std::string& value) -> Result<long> {
    blobstore::StringSource source(body);
    S3Request request;
    request.op = "probe";
    request.method = "PUT";
    request.key = key;
    request.headers.emplace_back(std::string(header), value);
    request.body_source = &source;
    request.body_length = body.size();
    SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
    if (response.status == 200) {
      created = true;
      const std::string* version = response.Header("x-amz-version-id");
      if (version != nullptr && *version != "null") versions.push_back(*version);
    } else if (response.status != 412) {
      return client_.ErrorStatus(response, "conditional-write probe", key);
    }
    return response.status;
  };

  // A one-part multipart upload of the scratch object completed under a condition that fails;
  // true if the server refused it (412), false if it completed anyway.
  auto complete = [&](std::string_view header, const std::string& value) -> Result<bool> {
    blobstore::StringSource source(body);
    blobstore::PutOptions options;
    MultipartUpload upload(client_, nullptr, key, source, options,
                           Headers{{std::string(header), value}});
    Result<blobstore::ObjectInfo> done = upload.Run();  // aborts the upload when refused
    if (done.ok()) {
      if (!done->version_id.empty()) versions.push_back(done->version_id);
      return false;
    }
    if (done.status().IsConflict()) return true;
    return done.status();
  };

  auto probe = [&]() -> Result<ConditionalSupport> {
    ConditionalSupport support;
    SHADOWFS_ASSIGN_OR_RETURN(long first, put("if-none-match", "*"));
    if (first != 200) {
      return Status::IOError("conditional-write probe: a create-only PUT of the fresh key '" + key +
                             "' failed with 412");
    }
    SHADOWFS_ASSIGN_OR_RETURN(long second, put("if-none-match", "*"));
    support.create_only = second == 412;
    SHADOWFS_ASSIGN_OR_RETURN(long quoted, put("if-match", QuoteEtag(etag)));
    bool matched = quoted == 200;
    if (!matched) {
      SHADOWFS_ASSIGN_OR_RETURN(long unquoted, put("if-match", etag));
      matched = unquoted == 200;
      support.quote_if_match = false;
    }
    const std::string wrong = base::Md5Hex("not the probe body");
    if (matched) {
      SHADOWFS_ASSIGN_OR_RETURN(long stale,
                                put("if-match", support.quote_if_match ? QuoteEtag(wrong) : wrong));
      support.if_match = stale == 412;
    }
    if (support.supported()) {
      // The object exists, so both completions must be refused.
      SHADOWFS_ASSIGN_OR_RETURN(bool absent_refused, complete("if-none-match", "*"));
      SHADOWFS_ASSIGN_OR_RETURN(
          bool stale_refused,
          complete("if-match", support.quote_if_match ? QuoteEtag(wrong) : wrong));
      support.multipart = absent_refused && stale_refused;
    }
    return support;
  };
  Result<ConditionalSupport> result = probe();

  // Clean up whatever the probe created, whether it finished or not.
  if (created) {
    std::vector<std::string> deletes = versions;
    if (deletes.empty()) deletes.emplace_back();
    for (const std::string& version : deletes) {
      S3Request request;
      request.op = "probe";
      request.method = "DELETE";
      request.key = key;
      if (!version.empty()) request.query.emplace_back("versionId", version);
      auto deleted = client_.Send(request);
      if (!deleted.ok() || (deleted->status >= 300 && deleted->status != 404)) {
        base::LogStream(*client_.runtime().logger, base::LogLevel::kWarning)
            << "could not delete the conditional-write probe object '" << key << "' in "
            << client_.endpoint().Describe() << "; delete it by hand";
      }
    }
  }
  if (result.ok()) {
    base::LogStream(*client_.runtime().logger, base::LogLevel::kInfo)
        << client_.endpoint().Describe() << ": create-only PUT "
        << (result->create_only ? "honoured" : "IGNORED") << ", If-Match on PUT "
        << (result->if_match ? (result->quote_if_match ? "honoured (quoted ETag)"
                                                       : "honoured (unquoted ETag only)")
                             : "IGNORED")
        << ", conditions on CompleteMultipartUpload "
        << (result->multipart ? "honoured" : "IGNORED (conditional writes use single PUTs)");
  }
  return result;
}

}  // namespace shadowfs::s3
