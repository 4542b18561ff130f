// FsSide of the model test: FileSystem driven the way the kernel drives it.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "tests/fs/model_sides.h"

namespace shadowfs::fs::model {

using base::Result;
using base::Status;
using base::StatusCode;

namespace {

constexpr Caller kCaller{.uid = 1000, .gid = 1000, .pid = 0};

uint32_t CurrentUmask() {
  mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

Outcome Of(const Status& st) { return Outcome{.code = st.code(), .value = st.message()}; }
Outcome Of(const Result<std::string>& r) { return r.ok() ? Outcome{.value = *r} : Of(r.status()); }

std::string RenderAttr(const Attributes& a) {
  char buf[64];
  if (a.kind == FileKind::kDirectory) {
    std::snprintf(buf, sizeof buf, "dir mode=%04o", a.mode & 07777);
  } else {
    std::snprintf(buf, sizeof buf, "file size=%llu mode=%04o",
                  static_cast<unsigned long long>(a.size), a.mode & 07777);
  }
  return buf;
}

std::string Hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  std::ostringstream out;
  out << std::hex << h;
  return out.str();
}

}  // namespace

FsSide::FsSide(blobstore::BlobStore* primary, base::Runtime runtime, base::FakeClock* clock,
               std::string store_root)
    : primary_(primary),
      runtime_(runtime),
      clock_(clock),
      store_root_(std::move(store_root)),
      umask_(CurrentUmask()) {}

FsSide::~FsSide() {
  fs_.reset();
  store_.reset();
}

Status FsSide::Mount(bool keep_store) {
  held_.clear();
  fs_.reset();  // finishes pending uploads
  store_.reset();
  if (!keep_store) ++generation_;
  auto store =
      shadow::ShadowStore::Open({.dir = store_root_ + "-" + std::to_string(generation_)}, runtime_);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  FileSystemOptions o;
  o.hostname = "model";
  auto fs =
      FileSystem::Create({.primary = primary_, .store = store_.get(), .runtime = runtime_}, o);
  if (!fs.ok()) return fs.status();
  fs_ = std::move(*fs);
  return Status::Ok();
}

Result<InodeId> FsSide::LookupHeld(InodeId parent, const std::string& name) {
  SHADOWFS_ASSIGN_OR_RETURN(Entry e, fs_->Lookup(parent, name));
  held_.push_back(e.attr.ino);
  return e.attr.ino;
}

void FsSide::ForgetHeld() {
  for (InodeId ino : held_) fs_->Forget(ino, 1);
  held_.clear();
}

Result<InodeId> FsSide::Walk(const std::string& path) {
  InodeId ino = kRootInode;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    std::string name = path.substr(pos, slash == std::string::npos ? slash : slash - pos);
    SHADOWFS_ASSIGN_OR_RETURN(Entry e, fs_->Lookup(ino, name));
    held_.push_back(e.attr.ino);
    ino = e.attr.ino;
    if (slash == std::string::npos) break;
    // The VFS path walk: only a directory has components below it.
    if (e.attr.kind != FileKind::kDirectory) return Status::NotDirectory("not a directory");
    pos = slash + 1;
  }
  return ino;
}

Result<std::pair<InodeId, std::string>> FsSide::WalkParent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return std::make_pair(kRootInode, path);
  SHADOWFS_ASSIGN_OR_RETURN(InodeId parent, Walk(path.substr(0, slash)));
  SHADOWFS_ASSIGN_OR_RETURN(Attributes a, fs_->GetAttr(parent));
  if (a.kind != FileKind::kDirectory) return Status::NotDirectory("not a directory");
  return std::make_pair(parent, path.substr(slash + 1));
}

Status FsSide::Close(HandleId h) {
  Status flushed = fs_->Flush(h);
  Status released = fs_->Release(h);
  return flushed.ok() ? released : flushed;
}

Status FsSide::CreateWrite(const Op& op) {
  SHADOWFS_ASSIGN_OR_RETURN(auto parent, WalkParent(op.path));
  const int flags = O_CREAT | O_WRONLY | O_TRUNC;
  HandleId h = 0;
  if (op.flag) {
    SHADOWFS_ASSIGN_OR_RETURN(
        auto created, fs_->Create(parent.first, parent.second, op.mode & ~umask_, flags, kCaller));
    held_.push_back(created.first.attr.ino);
    h = created.second.handle;
  } else {
    // What the kernel does: a lookup, then open(O_TRUNC) for an existing file (the adapter
    // asks for atomic_o_trunc) or create for a missing one.
    auto e = fs_->Lookup(parent.first, parent.second);
    if (e.ok()) {
      held_.push_back(e->attr.ino);
      if (e->attr.kind == FileKind::kDirectory) return Status::IsDirectory("is a directory");
      SHADOWFS_ASSIGN_OR_RETURN(OpenResult o, fs_->Open(e->attr.ino, O_WRONLY | O_TRUNC, kCaller));
      h = o.handle;
    } else if (e.status().IsNotFound()) {
      SHADOWFS_ASSIGN_OR_RETURN(auto created, fs_->Create(parent.first, parent.second,
                                                          op.mode & ~umask_, flags, kCaller));
      held_.push_back(created.first.attr.ino);
      h = created.second.handle;
    } else {
      return e.status();
    }
  }
  for (const Write& w : op.writes) {
    auto n = fs_->Write(h, w.offset, WriteData(w));
    if (!n.ok() || *n != w.size) {
      (void)fs_->Release(h);
      return n.ok() ? Status::IOError("short write") : n.status();
    }
  }
  return Close(h);
}

Result<std::string> FsSide::Overwrite(const Op& op) {
  SHADOWFS_ASSIGN_OR_RETURN(InodeId ino, Walk(op.path));
  SHADOWFS_ASSIGN_OR_RETURN(OpenResult o, fs_->Open(ino, O_RDWR, kCaller));
  std::string back;
  Status st;
  for (const Write& w : op.writes) {
    auto n = fs_->Write(o.handle, w.offset, WriteData(w));
    if (!n.ok() || *n != w.size) {
      st = n.ok() ? Status::IOError("short write") : n.status();
      break;
    }
  }
  if (st.ok() && op.flag) {
    back.resize(op.size2);
    auto n = fs_->Read(o.handle, op.size, back);
    if (n.ok()) back.resize(*n);
    st = n.status();
  }
  if (!st.ok()) {
    (void)fs_->Release(o.handle);
    return st;
  }
  SHADOWFS_RETURN_IF_ERROR(Close(o.handle));
  return back;
}

Result<std::string> FsSide::ReadAll(InodeId ino, uint64_t chunk) {
  SHADOWFS_ASSIGN_OR_RETURN(OpenResult o, fs_->Open(ino, O_RDONLY, kCaller));
  std::string out;
  std::string buf(chunk, '\0');
  Status st;
  while (true) {
    auto n = fs_->Read(o.handle, out.size(), buf);
    if (!n.ok()) {
      st = n.status();
      break;
    }
    if (*n == 0) break;
    out.append(buf.data(), *n);
  }
  Status rel = fs_->Release(o.handle);
  SHADOWFS_RETURN_IF_ERROR(st);
  SHADOWFS_RETURN_IF_ERROR(rel);
  return out;
}

Result<std::string> FsSide::List(InodeId dir, bool plus, uint64_t per_reply) {
  SHADOWFS_ASSIGN_OR_RETURN(HandleId h, fs_->OpenDir(dir));
  std::vector<std::string> names;
  uint64_t offset = 0;
  Status st;
  // Replies of `per_reply` entries, each continuing from the last accepted entry's offset.
  while (st.ok()) {
    uint64_t taken = 0;
    st = fs_->ReadDir(h, offset, plus, [&](const DirEntry& e) {
      if (taken == per_reply) return false;
      ++taken;
      offset = e.next_offset;
      if (e.entry) held_.push_back(e.entry->attr.ino);
      if (e.name != "." && e.name != "..") {
        names.push_back(e.kind == FileKind::kDirectory ? e.name + "/" : e.name);
      }
      return true;
    });
    if (taken == 0) break;
  }
  Status rel = fs_->ReleaseDir(h);
  SHADOWFS_RETURN_IF_ERROR(st);
  SHADOWFS_RETURN_IF_ERROR(rel);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + " ";
  return out;
}

Result<std::string> FsSide::Stat(InodeId ino) {
  SHADOWFS_ASSIGN_OR_RETURN(Attributes a, fs_->GetAttr(ino));
  return RenderAttr(a);
}

Outcome FsSide::Run(const Op& op) {
  Outcome out;
  switch (op.kind) {
    case OpKind::kMkdir: {
      auto parent = WalkParent(op.path);
      if (!parent.ok()) {
        out = Of(parent.status());
        break;
      }
      auto e = fs_->MkDir(parent->first, parent->second, op.mode & ~umask_, kCaller);
      if (e.ok()) held_.push_back(e->attr.ino);
      out = Of(e.status());
      break;
    }
    case OpKind::kCreateWrite:
      out = Of(CreateWrite(op));
      break;
    case OpKind::kOverwrite:
      out = Of(Overwrite(op));
      break;
    case OpKind::kRead: {
      auto ino = Walk(op.path);
      out = ino.ok() ? Of(ReadAll(*ino, op.size)) : Of(ino.status());
      break;
    }
    case OpKind::kTruncate:
    case OpKind::kChmod: {
      auto ino = Walk(op.path);
      if (!ino.ok()) {
        out = Of(ino.status());
        break;
      }
      SetAttrRequest r;
      if (op.kind == OpKind::kTruncate) r.size = op.size;
      if (op.kind == OpKind::kChmod) r.mode = op.mode;
      out = Of(fs_->SetAttr(*ino, r, std::nullopt, kCaller).status());
      break;
    }
    case OpKind::kRename: {
      auto from = WalkParent(op.path);
      auto to = from.ok() ? WalkParent(op.path2) : from;
      if (!to.ok()) {
        out = Of(to.status());
        break;
      }
      out = Of(fs_->Rename(from->first, from->second, to->first, to->second, 0));
      break;
    }
    case OpKind::kUnlink:
    case OpKind::kRmdir: {
      auto parent = WalkParent(op.path);
      if (!parent.ok()) {
        out = Of(parent.status());
        break;
      }
      out = Of(op.kind == OpKind::kUnlink ? fs_->Unlink(parent->first, parent->second)
                                          : fs_->RmDir(parent->first, parent->second));
      break;
    }
    case OpKind::kReadDir: {
      auto ino = Walk(op.path);
      out = ino.ok() ? Of(List(*ino, op.flag, op.size)) : Of(ino.status());
      break;
    }
    case OpKind::kStat: {
      auto ino = Walk(op.path);
      out = ino.ok() ? Of(Stat(*ino)) : Of(ino.status());
      break;
    }
    case OpKind::kAdvanceClock:
      clock_->Advance(std::chrono::milliseconds(op.size));
      break;
    case OpKind::kRemount:
      out = Of(Mount(op.flag));
      break;
  }
  if (fs_) ForgetHeld();
  // Error messages are for the report; only codes are compared.
  if (out.code != StatusCode::kOk) out.value.clear();
  return out;
}

Status FsSide::TreeOf(InodeId dir, const std::string& path, std::string* out) {
  SHADOWFS_ASSIGN_OR_RETURN(std::string listing, List(dir, false, 1000));
  std::istringstream names(listing);
  for (std::string name; names >> name;) {
    bool is_dir = name.back() == '/';
    if (is_dir) name.pop_back();
    std::string child = path.empty() ? name : path + "/" + name;
    SHADOWFS_ASSIGN_OR_RETURN(Entry e, fs_->Lookup(dir, name));
    held_.push_back(e.attr.ino);
    *out += child + ": " + RenderAttr(e.attr);
    if (e.attr.kind == FileKind::kDirectory) {
      *out += "\n";
      SHADOWFS_RETURN_IF_ERROR(TreeOf(e.attr.ino, child, out));
    } else {
      SHADOWFS_ASSIGN_OR_RETURN(std::string data, ReadAll(e.attr.ino, 1 << 20));
      *out += " " + Hash(data) + "\n";
    }
  }
  return Status::Ok();
}

Outcome FsSide::Tree() {
  Outcome out;
  Status st = TreeOf(kRootInode, "", &out.value);
  ForgetHeld();
  if (!st.ok()) return Of(st);
  return out;
}

}  // namespace shadowfs::fs::model
