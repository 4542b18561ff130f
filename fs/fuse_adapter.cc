#include "fs/fuse_adapter.h"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "blobstore/base/executor.h"
#include "fs/errno_map.h"
#include "fs/fuse_init.h"
#include "fs/mount_point.h"

namespace shadowfs::fs {

using base::Status;

namespace {

// What the callbacks reach through fuse_req_userdata: the session's borrowed state, no globals.
struct Adapter {
  FileSystem* fs;
  double negative_timeout;
  double attr_timeout;
  base::Runtime runtime;
  bool parallel_dirops = false;  // asked of the kernel in OpInit
  // Lookups being served, and the most served at once since the mount (the metric shows
  // whether the kernel sends a directory's lookups in parallel: fs/fuse_init.h).
  std::atomic<int> lookups_in_flight{0};
  std::atomic<int> lookups_peak{0};
  base::Gauge* lookups_peak_gauge = nullptr;
};

Adapter& Self(fuse_req_t req) { return *static_cast<Adapter*>(fuse_req_userdata(req)); }
FileSystem& Fs(fuse_req_t req) { return *Self(req).fs; }

// libfuse starts its workers without names; name each one the first time it serves a request.
void NameWorker() {
  thread_local bool named = false;
  if (!named) {
    base::SetThreadName("fuse-worker");
    named = true;
  }
}

Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return Caller{ctx->uid, ctx->gid, ctx->pid};
}

timespec ToTimespec(base::WallTime t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1'000'000'000;
    --ts.tv_sec;
  }
  return ts;
}

base::WallTime FromTimespec(const timespec& ts) {
  return base::WallTime(std::chrono::duration_cast<base::WallTime::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

uint32_t TypeBits(FileKind kind) {
  switch (kind) {
    case FileKind::kDirectory:
      return S_IFDIR;
    case FileKind::kSymlink:
      return S_IFLNK;
    case FileKind::kRegular:
      break;
  }
  return S_IFREG;
}

struct stat ToStat(const Attributes& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = (a.mode & ~S_IFMT) | TypeBits(a.kind);
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_atim = ToTimespec(a.atime);
  st.st_mtim = ToTimespec(a.mtime);
  st.st_ctim = ToTimespec(a.ctime);
  return st;
}

fuse_entry_param ToEntryParam(const Entry& e) {
  fuse_entry_param p{};
  p.ino = e.attr.ino;
  p.generation = e.generation;
  p.attr = ToStat(e.attr);
  p.attr_timeout = e.attr_timeout.count();
  p.entry_timeout = e.entry_timeout.count();
  return p;
}

void ReplyStatus(fuse_req_t req, const Status& status) {
  // The edge is where a failure is consumed, so it is logged here, once. Answers that are part
  // of normal use (ENOENT, EEXIST, ENOTEMPTY, ...) are not failures of shadowfs.
  switch (status.code()) {
    case base::StatusCode::kUnavailable:
    case base::StatusCode::kIOError:
    case base::StatusCode::kCorruption:
    case base::StatusCode::kNoSpace:
    case base::StatusCode::kConflict: {
      auto* adapter = static_cast<Adapter*>(fuse_req_userdata(req));
      adapter->runtime.logger->Log(base::LogLevel::kWarning, status.ToString());
      break;
    }
    default:
      break;
  }
  fuse_reply_err(req, ErrnoFromStatus(status));
}

// Replies with an entry; if the kernel is gone (interrupted), it will never forget the lookup
// the entry carried, so do it here.
void ReplyEntry(fuse_req_t req, const Entry& e) {
  fuse_entry_param p = ToEntryParam(e);
  if (fuse_reply_entry(req, &p) != 0) Fs(req).Forget(e.attr.ino, 1);
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* self = static_cast<Adapter*>(userdata);
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  want(FUSE_CAP_READDIRPLUS);
  want(FUSE_CAP_READDIRPLUS_AUTO);
  want(FUSE_CAP_ASYNC_READ);
  want(FUSE_CAP_PARALLEL_DIROPS);
  self->parallel_dirops = (conn->want & FUSE_CAP_PARALLEL_DIROPS) != 0;
  // open(O_TRUNC) arrives as open with O_TRUNC, so the core never fetches data it will discard.
  want(FUSE_CAP_ATOMIC_O_TRUNC);
  // Inode numbers are table ids that die with the mount: no NFS export. Writes go through the
  // core, which stages them itself: no kernel writeback cache (yet).
  conn->want &= ~(FUSE_CAP_EXPORT_SUPPORT | FUSE_CAP_WRITEBACK_CACHE);
  conn->max_write = 1u << 20;
  conn->max_readahead = 1u << 20;  // the kernel lowers it to its own limit
  self->runtime.logger->Log(base::LogLevel::kInfo,
                            "FUSE protocol " + std::to_string(conn->proto_major) + "." +
                                std::to_string(conn->proto_minor) + ", max_write " +
                                std::to_string(conn->max_write));
}

void OpDestroy(void* userdata) {
  auto* self = static_cast<Adapter*>(userdata);
  self->runtime.logger->Log(base::LogLevel::kInfo, "FUSE session ended by the kernel");
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  NameWorker();
  Adapter& self = Self(req);
  int now = self.lookups_in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
  int peak = self.lookups_peak.load(std::memory_order_relaxed);
  while (now > peak && !self.lookups_peak.compare_exchange_weak(peak, now)) {
  }
  if (now > peak && self.lookups_peak_gauge != nullptr) self.lookups_peak_gauge->Set(now);
  auto r = Fs(req).Lookup(parent, name, CallerOf(req));
  self.lookups_in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (r.ok()) return ReplyEntry(req, *r);
  if (r.status().IsNotFound()) {
    // A zero inode with a timeout: the kernel caches the absence for that long.
    fuse_entry_param p{};
    p.entry_timeout = Self(req).negative_timeout;
    fuse_reply_entry(req, &p);
    return;
  }
  ReplyStatus(req, r.status());
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Fs(req).Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) Fs(req).Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void ReplyAttr(fuse_req_t req, const base::Result<Attributes>& r) {
  if (!r.ok()) return ReplyStatus(req, r.status());
  struct stat st = ToStat(*r);
  fuse_reply_attr(req, &st, Self(req).attr_timeout);
}

void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  NameWorker();
  ReplyAttr(req, Fs(req).GetAttr(ino));
}

void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  NameWorker();
  SetAttrRequest s;
  if (to_set & FUSE_SET_ATTR_MODE) s.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) s.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) s.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) s.size = static_cast<uint64_t>(attr->st_size);
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    s.atime_now = true;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    s.atime = FromTimespec(attr->st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    s.mtime_now = true;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    s.mtime = FromTimespec(attr->st_mtim);
  }
  std::optional<HandleId> handle;
  if (fi != nullptr) handle = fi->fh;
  ReplyAttr(req, Fs(req).SetAttr(ino, s, handle, CallerOf(req)));
}

void OpReadLink(fuse_req_t req, fuse_ino_t ino) {
  NameWorker();
  auto r = Fs(req).ReadLink(ino);
  if (!r.ok()) return ReplyStatus(req, r.status());
  fuse_reply_readlink(req, r->c_str());
}

void OpMkDir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  NameWorker();
  auto r = Fs(req).MkDir(parent, name, mode, CallerOf(req));
  if (!r.ok()) return ReplyStatus(req, r.status());
  ReplyEntry(req, *r);
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  NameWorker();
  auto r = Fs(req).Symlink(link, parent, name, CallerOf(req));
  if (!r.ok()) return ReplyStatus(req, r.status());
  ReplyEntry(req, *r);
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  NameWorker();
  ReplyStatus(req, Fs(req).Unlink(parent, name));
}

void OpRmDir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  NameWorker();
  ReplyStatus(req, Fs(req).RmDir(parent, name));
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned int flags) {
  NameWorker();
  ReplyStatus(req, Fs(req).Rename(parent, name, new_parent, new_name, flags));
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  NameWorker();
  ReplyStatus(req, Fs(req).Link(ino, new_parent, new_name));
}

void FillOpen(const OpenResult& o, fuse_file_info* fi) {
  fi->fh = o.handle;
  fi->keep_cache = o.keep_cache ? 1 : 0;
  fi->direct_io = o.direct_io ? 1 : 0;
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  NameWorker();
  auto r = Fs(req).Open(ino, fi->flags, CallerOf(req));
  if (!r.ok()) return ReplyStatus(req, r.status());
  FillOpen(*r, fi);
  // An interrupted open never reaches release: close the handle here.
  if (fuse_reply_open(req, fi) != 0) (void)Fs(req).Release(r->handle);
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  NameWorker();
  auto r = Fs(req).Create(parent, name, mode, fi->flags, CallerOf(req));
  if (!r.ok()) return ReplyStatus(req, r.status());
  FillOpen(r->second, fi);
  fuse_entry_param p = ToEntryParam(r->first);
  if (fuse_reply_create(req, &p, fi) != 0) {
    (void)Fs(req).Release(r->second.handle);
    Fs(req).Forget(r->first.attr.ino, 1);
  }
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  NameWorker();
  // One buffer per worker thread, reused: the core fills it and libfuse writes it to the kernel.
  thread_local std::vector<char> buffer;
  if (buffer.size() < size) buffer.resize(size);
  auto r = Fs(req).Read(fi->fh, static_cast<uint64_t>(off), std::span<char>(buffer.data(), size));
  if (!r.ok()) return ReplyStatus(req, r.status());
  fuse_reply_buf(req, buffer.data(), *r);
}

void OpWrite(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  NameWorker();
  auto r = Fs(req).Write(fi->fh, static_cast<uint64_t>(off), std::string_view(buf, size));
  if (!r.ok()) return ReplyStatus(req, r.status());
  fuse_reply_write(req, *r);
}

void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  NameWorker();
  ReplyStatus(req, Fs(req).Flush(fi->fh));
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  NameWorker();
  ReplyStatus(req, Fs(req).Release(fi->fh));
}

void OpFsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
  NameWorker();
  ReplyStatus(req, Fs(req).Fsync(fi->fh, datasync != 0));
}

void OpOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  NameWorker();
  auto r = Fs(req).OpenDir(ino);
  if (!r.ok()) return ReplyStatus(req, r.status());
  fi->fh = *r;
  if (fuse_reply_open(req, fi) != 0) (void)Fs(req).ReleaseDir(*r);
}

// The d_ino of an entry whose inode the core has not looked up. Never 0: glibc's readdir skips
// entries with d_ino 0 (its old marker of deleted entries), so they would vanish from listings.
// Stable per name, and far above the table ids the core hands out.
uint64_t PlaceholderIno(const DirEntry& d) {
  return d.ino != 0 ? d.ino : (std::hash<std::string>{}(d.name) | (1ull << 63));
}

// Fills a reply of at most `size` bytes; an entry that does not fit ends the reply and is not
// taken (ReadDir's emit protocol), so the kernel asks again from its offset.
void ReadDirReply(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  NameWorker();
  std::vector<char> buffer(size);
  size_t used = 0;
  auto emit = [&](const DirEntry& d) {
    size_t added;
    if (plus) {
      fuse_entry_param p{};
      if (d.entry) {
        p = ToEntryParam(*d.entry);
      } else {
        p.attr.st_ino = PlaceholderIno(d);
        p.attr.st_mode = TypeBits(d.kind);
      }
      added = fuse_add_direntry_plus(req, buffer.data() + used, size - used, d.name.c_str(), &p,
                                     static_cast<off_t>(d.next_offset));
    } else {
      struct stat st {};
      st.st_ino = PlaceholderIno(d);
      st.st_mode = TypeBits(d.kind);
      added = fuse_add_direntry(req, buffer.data() + used, size - used, d.name.c_str(), &st,
                                static_cast<off_t>(d.next_offset));
    }
    if (added > size - used) return false;
    used += added;
    return true;
  };
  Status s = Fs(req).ReadDir(fi->fh, static_cast<uint64_t>(off), plus, emit);
  // Entries already added are lookups the kernel now holds: reply with them even if the listing
  // failed further on; the error shows on the next call.
  if (!s.ok() && used == 0) return ReplyStatus(req, s);
  fuse_reply_buf(req, buffer.data(), used);
}

void OpReadDir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirReply(req, size, off, fi, false);
}

void OpReadDirPlus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirReply(req, size, off, fi, true);
}

void OpReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  NameWorker();
  ReplyStatus(req, Fs(req).ReleaseDir(fi->fh));
}

void OpStatFs(fuse_req_t req, fuse_ino_t) {
  NameWorker();
  auto r = Fs(req).StatFs();
  if (!r.ok()) return ReplyStatus(req, r.status());
  struct statvfs v {};
  v.f_bsize = r->block_size;
  v.f_frsize = r->block_size;
  v.f_blocks = r->blocks;
  v.f_bfree = r->blocks_free;
  v.f_bavail = r->blocks_available;
  v.f_files = r->files;
  v.f_ffree = r->files_free;
  v.f_favail = r->files_free;
  v.f_namemax = r->name_max;
  fuse_reply_statfs(req, &v);
}

void OpSetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  NameWorker();
  // Without FUSE_CAP_POSIX_ACL the kernel hands ACLs to us as opaque attributes, and setting
  // one would not change the mode bits it encodes: `cp -a` creates files 0600 and then sets the
  // mode through system.posix_acl_access. Refusing makes it fall back to chmod.
  if (std::string_view(name).starts_with("system.posix_acl_")) {
    return (void)fuse_reply_err(req, EOPNOTSUPP);
  }
  ReplyStatus(req, Fs(req).SetXattr(ino, name, std::string_view(value, size), flags));
}

// The xattr size protocol: size 0 asks for the length; a smaller buffer is ERANGE.
void ReplyXattrValue(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (value.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void OpGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  NameWorker();
  auto r = Fs(req).GetXattr(ino, name);
  if (!r.ok()) return ReplyStatus(req, r.status());
  if (!r->has_value()) return (void)fuse_reply_err(req, ENODATA);
  ReplyXattrValue(req, **r, size);
}

void OpListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  NameWorker();
  auto r = Fs(req).ListXattr(ino);
  if (!r.ok()) return ReplyStatus(req, r.status());
  std::string list;
  for (const std::string& name : *r) {
    list += name;
    list.push_back('\0');
  }
  ReplyXattrValue(req, list, size);
}

void OpRemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  NameWorker();
  auto r = Fs(req).RemoveXattr(ino, name);
  if (!r.ok()) return ReplyStatus(req, r.status());
  fuse_reply_err(req, *r ? 0 : ENODATA);
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.destroy = OpDestroy;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetAttr;
  ops.setattr = OpSetAttr;
  ops.readlink = OpReadLink;
  ops.mkdir = OpMkDir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmDir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.create = OpCreate;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpenDir;
  ops.readdir = OpReadDir;
  ops.readdirplus = OpReadDirPlus;
  ops.releasedir = OpReleaseDir;
  ops.statfs = OpStatFs;
  ops.setxattr = OpSetXattr;
  ops.getxattr = OpGetXattr;
  ops.listxattr = OpListXattr;
  ops.removexattr = OpRemoveXattr;
  // No access op: the mount uses default_permissions, so the kernel checks modes itself.
  return ops;
}

}  // namespace

Status RunFuseMount(FileSystem* fs, const FuseMountOptions& options,
                    const std::function<void()>& on_ready, base::Runtime runtime) {
  SHADOWFS_RETURN_IF_ERROR(CheckMountpoint(options.mountpoint));
  SHADOWFS_RETURN_IF_ERROR(CheckDevFuse());

  std::string opts = "default_permissions,subtype=shadowfs,fsname=" + options.fsname;
  for (const std::string& o : options.fuse_options) opts += "," + o;
  std::vector<std::string> argv_storage = {"shadowfs", "-o", opts};
  if (options.debug) argv_storage.push_back("-d");
  std::vector<char*> argv;
  argv.reserve(argv_storage.size());
  for (std::string& a : argv_storage) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  Adapter adapter{fs, options.negative_timeout.count(), options.attr_timeout.count(), runtime};
  if (runtime.metrics != nullptr) {
    adapter.lookups_peak_gauge = &runtime.metrics->GetGauge(
        "shadowfs_fuse_lookups_in_flight_peak",
        "The most lookups the kernel had the mount serve at once since it started");
  }
  fuse_lowlevel_ops ops = MakeOps();
  std::unique_ptr<fuse_session, void (*)(fuse_session*)> session(
      fuse_session_new(&args, &ops, sizeof(ops), &adapter), fuse_session_destroy);
  fuse_opt_free_args(&args);
  if (!session) {
    std::string user_options;
    for (const std::string& o : options.fuse_options) {
      user_options += (user_options.empty() ? "" : ",") + o;
    }
    return Status::InvalidArgument("FUSE rejected the -o options '" + user_options +
                                   "': one is unknown or malformed (libfuse names it on stderr, "
                                   "or in the mount log of a daemon)");
  }
  if (fuse_set_signal_handlers(session.get()) != 0) {
    return Status::IOError("cannot install signal handlers");
  }
  if (fuse_session_mount(session.get(), options.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(session.get());
    return Status::IOError("cannot mount on " + options.mountpoint +
                           " (libfuse's reason is logged above)");
  }
  // Only this thread takes the termination signals (the caller blocked them before starting any
  // other thread; libfuse starts its workers with every signal blocked).
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);

  bool added_parallel_dirops = false;
  if (Status init = ProcessInit(session.get(), &adapter.parallel_dirops, &added_parallel_dirops);
      !init.ok()) {
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    fuse_remove_signal_handlers(session.get());
    fuse_session_unmount(session.get());
    return init.WithContext("FUSE handshake on " + options.mountpoint);
  }
  if (added_parallel_dirops) {
    runtime.logger->Log(base::LogLevel::kInfo,
                        "told the kernel it may send a directory's lookups in parallel (this "
                        "libfuse leaves FUSE_PARALLEL_DIROPS out of its INIT reply)");
  }
  SetReadAhead(options.mountpoint, options.read_ahead_kb, *runtime.logger);
  if (on_ready) on_ready();
  runtime.logger->Log(base::LogLevel::kInfo,
                      "mounted " + options.fsname + " on " + options.mountpoint);

  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, static_cast<unsigned>(options.max_threads));
  fuse_loop_cfg_set_idle_threads(config, static_cast<unsigned>(options.max_idle_threads));
  int rc = fuse_session_loop_mt(session.get(), config);
  fuse_loop_cfg_destroy(config);

  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  fuse_remove_signal_handlers(session.get());
  fuse_session_unmount(session.get());
  runtime.logger->Log(base::LogLevel::kInfo, "unmounted " + options.mountpoint);
  if (rc < 0) return Status::IOError(std::string("FUSE session failed: ") + std::strerror(-rc));
  return Status::Ok();
}

}  // namespace shadowfs::fs
