// `shadowfs selfcheck`: exercises a primary end to end (write, read back, ranged read,
// conditional write, list, copy, delete) and prints one line per step.
#pragma once

#include <ostream>

#include "blobstore/blob_store.h"

namespace shadowfs::cli {

// Returns the number of failed steps (0 = healthy). Cleans up what it wrote.
int RunSelfCheck(blobstore::BlobStore& store, std::ostream& out);

}  // namespace shadowfs::cli
