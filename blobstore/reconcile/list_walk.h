// ListWalk: resolves a sorted set of keys against a primary with ListObjectsV2 and no delimiter,
// seeking from one listed key to the next: every request starts (start-after) just before the
// smallest key not yet resolved, or continues the previous page when that key is inside it. So a
// cycle costs at most one request per key and never more than a flat listing of the range would
// (each seek starts at or past where the flat listing's next page would), which is one request
// per 1000 keys when the keys are dense and one per key when they are sparse in a big bucket,
// where a flat listing would cost one per 1000 objects.
//
// A key is resolved as listed (with what the primary said) or as absent, and only inside a range
// the primary listed completely: from the request's start to the last key of a truncated page,
// or to the end of the prefix for the last page. A failed request ends the walk with its Status
// and the keys beyond what was listed unresolved. Not thread-safe; one walk per call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/blob_store.h"

namespace shadowfs::reconcile {

// The longest common prefix of `keys`, cut back to a UTF-8 character boundary.
std::string CommonPrefix(const std::vector<std::string>& keys);

// A start-after value just below `key`: no valid UTF-8 key lies strictly between the two (when
// the last byte of `key` is printable ASCII), or only keys extending key's parent text (otherwise).
// Always a valid UTF-8 string, less than `key`.
std::string SeekPointBefore(std::string_view key);

struct ListWalkOptions {
  int max_keys = 1000;
  // Checked between requests; true ends the walk with Unavailable ("interrupted").
  std::function<bool()> cancelled;
  // Called before each request (the time the listing's answers are true of).
  std::function<void()> before_request;
};

// `keys` must be sorted (byte order) and unique. `resolve(index, listed)` is called once per key
// resolved, in order; `listed` is null when the key is absent. `requests` counts List calls.
base::Status WalkListing(blobstore::BlobStore& primary, const std::vector<std::string>& keys,
                         const ListWalkOptions& options,
                         const std::function<void(size_t, const blobstore::ObjectInfo*)>& resolve,
                         uint64_t* requests);

}  // namespace shadowfs::reconcile
