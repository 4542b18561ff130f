// `shadowfs selfcheck`: exercises a primary end to end (write, read back, ranged read,
// conditional write, list, copy, delete) and prints one line per step.
#pragma once

#include <ostream>
#include <string>

#include "blobstore/blob_store.h"

namespace shadowfs::cli {

// Returns the number of failed steps (0 = healthy); stops at the first failure. Cleans up what
// it wrote.
// Works under `prefix` ("" or "dir/"), where the filesystem would live.
int RunSelfCheck(blobstore::BlobStore& store, const std::string& prefix, std::ostream& out);

}  // namespace shadowfs::cli
