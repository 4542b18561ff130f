// The FUSE INIT handshake, with the one capability Debian 12's libfuse (3.14) drops.
//
// libfuse before 3.17 never tells the kernel FUSE_PARALLEL_DIROPS, although a filesystem asks for
// it (FUSE_CAP_PARALLEL_DIROPS in `want`) and the header says it is on by default (libfuse pull
// requests #861 and #880). Without it the kernel takes a directory's lock around every lookup
// and readdir in it: the lookups of files never seen, one primary round trip each, queue behind
// one another however many threads read the directory (measured: 4 parallel `stat`s of new names
// in one directory took 87 ms against 23 ms for one, with 20 ms per request). ProcessInit
// handles the INIT request itself, before the session loop: libfuse's reply is written into a
// pipe in place of /dev/fuse, the flag is added when it was asked for, and the reply goes on to
// the kernel. A libfuse that sends the flag gets its reply passed on unchanged.
#pragma once

#include "blobstore/base/status.h"

struct fuse_session;

namespace shadowfs::fs {

// Reads the kernel's INIT request from the session's device and answers it through libfuse (so
// the filesystem's init callback runs), adding FUSE_PARALLEL_DIROPS to the reply when
// `*parallel_dirops` (which the init callback sets when it asks for the capability; read after
// it ran) and libfuse left it out. Call once, after fuse_session_mount and before the session
// loop. `*added` says whether the flag was added.
base::Status ProcessInit(fuse_session* session, const bool* parallel_dirops, bool* added);

}  // namespace shadowfs::fs
