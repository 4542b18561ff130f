// ListKeys: every key of a listing, following continuation tokens, checking each page's size.
// Shared by the conformance suite and the store-specific tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "blobstore/blob_store.h"

namespace shadowfs::blobstore::testing {

// Every key (and, if asked, common prefix) of a listing, following continuation tokens.
inline std::vector<std::string> ListKeys(BlobStore& store, const std::string& prefix = "",
                                         const std::string& delimiter = "", int page_size = 1000,
                                         std::vector<std::string>* prefixes = nullptr) {
  std::vector<std::string> keys;
  ListOptions options;
  options.prefix = prefix;
  options.delimiter = delimiter;
  options.max_keys = page_size;
  for (int pages = 0; pages < 100000; ++pages) {
    auto page = store.List(options);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    EXPECT_LE(page->objects.size() + page->common_prefixes.size(), size_t(page_size));
    for (auto& o : page->objects) keys.push_back(o.key);
    if (prefixes)
      prefixes->insert(prefixes->end(), page->common_prefixes.begin(), page->common_prefixes.end());
    if (!page->truncated) break;
    options.continuation_token = page->next_continuation_token;
  }
  return keys;
}

// A LocalDirBlobStore in a fresh temporary directory that goes away with it.

}  // namespace shadowfs::blobstore::testing
