// ConditionalWriteProbe: finds out, once per store, whether the server honours conditional PUTs
// and in which form it wants the ETag of If-Match. S3 and MinIO accept the standard quoted form;
// Ceph RGW 16 only matches an unquoted ETag on PUT (a quoted one fails with 412 even when it
// matches), while its GETs accept both. Some servers ignore the headers altogether, which would
// silently turn a conditional write into a blind overwrite, so that must be detected, not
// assumed.
//
// Conditions on CompleteMultipartUpload are probed separately: RGW 16 honours them on PUT but
// ignores them on Complete (a conditional multipart write would silently overwrite), so the store
// sends conditional writes as single PUTs (up to 5 GiB) when Complete does not honour them.
//
// The probe writes a scratch object under ".shadowfs-probe/" (a create-only PUT twice, If-Match
// quoted, unquoted, and with a wrong ETag; then one-part multipart uploads completed with
// If-None-Match: * and with a wrong If-Match) and deletes it (every version it made, on
// versioned buckets). Thread-safe: concurrent callers wait for one probe; no lock is held during
// it.
#pragma once

#include <optional>
#include <string_view>

#include "blobstore/base/mutex.h"
#include "blobstore/blob_store.h"
#include "blobstore/s3/s3_client.h"

namespace shadowfs::s3 {

struct ConditionalSupport {
  bool create_only = false;    // If-None-Match: * gives 412 when the object exists
  bool if_match = false;       // If-Match gives 412 on a wrong ETag and succeeds on the right one
  bool quote_if_match = true;  // the form of the ETag that If-Match accepts
  bool multipart = false;      // CompleteMultipartUpload honours both conditions as well
  bool supported() const { return create_only && if_match; }
};

inline constexpr std::string_view kProbePrefix = ".shadowfs-probe/";

// The If-Match / If-None-Match headers for a PUT, in the form the server accepts.
Headers WriteConditionHeaders(const blobstore::Preconditions& conditions,
                              const ConditionalSupport& support);

class ConditionalWriteProbe {
 public:
  explicit ConditionalWriteProbe(S3Client& client) : client_(client) {}

  // The cached answer, probing first if there is none. A failed probe (server unreachable,
  // access denied) is returned and not cached, so a later call tries again.
  base::Result<ConditionalSupport> Get() EXCLUDES(mu_);

 private:
  base::Result<ConditionalSupport> Probe();

  S3Client& client_;
  base::Mutex mu_;  // leaf lock; not held while probing
  base::CondVar done_;
  bool probing_ GUARDED_BY(mu_) = false;
  std::optional<ConditionalSupport> cached_ GUARDED_BY(mu_);
};

}  // namespace shadowfs::s3
