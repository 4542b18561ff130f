// Parsing of the byte sizes users type on the command line ("10G", "512M", "4096"). Pure.
#pragma once

#include <cstdint>
#include <string>

#include "blobstore/base/result.h"

namespace shadowfs::cli {

// "10G", "512M", "1T", "4096": binary multiples (K, M, G, T; case-insensitive).
base::Result<uint64_t> ParseSize(const std::string& text);

}  // namespace shadowfs::cli
