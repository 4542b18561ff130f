// The XXH3-64 entry points the shadow format uses, for the .cc files of this directory (the only
// ones that may include xxhash). On x86-64 the dispatching variants pick the SSE2/AVX2/AVX-512
// kernel at run time: twice the throughput of the generic XXH3_64bits in Debian's libxxhash, for
// the same hash values.
#pragma once

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
#define SHADOWFS_XXH3_64 XXH3_64bits_dispatch
#define SHADOWFS_XXH3_64_UPDATE XXH3_64bits_update_dispatch
#else
#define SHADOWFS_XXH3_64 XXH3_64bits
#define SHADOWFS_XXH3_64_UPDATE XXH3_64bits_update
#endif
