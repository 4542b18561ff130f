// NamespaceView: what the prediction engine may ask about the primary's namespace, without
// knowing about the filesystem or the shadow store: the objects directly under a directory
// prefix, with their sizes and ETags. Sibling-order and epoch models need the members of a
// directory they have not seen read yet; the planner needs sizes (byte costs) and ETags (If-Match).
//
// Implementations must not block on the network: the engine calls them with its lock held, and
// the store's eviction waits for that lock. A directory not known yet answers Unavailable, meaning
// "being listed, ask again in a second" (the models retry soon, and later for other errors); the
// mount's implementation (cli/prediction.h) lists in the background and caches with a TTL.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/result.h"

namespace shadowfs::predict {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;
};

class NamespaceView {
 public:
  virtual ~NamespaceView() = default;
  // The objects whose keys are `dir` + a name without '/', in key order. `dir` is "" (the root)
  // or ends in '/'. Directory markers ("dir/") are not objects. At most `limit` entries.
  virtual base::Result<std::vector<ObjectInfo>> ListDirectory(std::string_view dir,
                                                              size_t limit) = 0;
};

}  // namespace shadowfs::predict
