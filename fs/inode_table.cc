#include "fs/inode_table.h"

#include <sys/stat.h>

namespace shadowfs::fs {

InodeTable::InodeTable() {
  Inode& root = slots_.emplace_back().inode.emplace();
  slots_[0].generation = 1;
  root.id = kRootInode;
  root.generation = 1;
  root.kind = FileKind::kDirectory;
  root.attr.ino = kRootInode;
  root.attr.kind = FileKind::kDirectory;
  root.attr.mode = S_IFDIR | 0755;
  root.attr.nlink = 2;
  root.lookups = 1;  // the kernel's implicit reference; never forgotten below 1
  live_ = 1;
}

void InodeTable::EraseName(InodeId parent, std::string_view name) {
  auto it = names_.find(NameView(parent, name));
  if (it != names_.end()) names_.erase(it);
}

Inode* InodeTable::Get(InodeId id) {
  if (id == 0 || id > slots_.size()) return nullptr;
  auto& slot = slots_[id - 1];
  return slot.inode ? &*slot.inode : nullptr;
}

const Inode* InodeTable::Get(InodeId id) const {
  if (id == 0 || id > slots_.size()) return nullptr;
  const auto& slot = slots_[id - 1];
  return slot.inode ? &*slot.inode : nullptr;
}

Inode* InodeTable::Child(InodeId parent, std::string_view name) {
  auto it = names_.find(NameView(parent, name));
  if (it == names_.end()) return nullptr;
  return Get(it->second);
}

Inode& InodeTable::Attach(InodeId parent, std::string_view name, FileKind kind) {
  if (Inode* existing = Child(parent, name)) {
    if (existing->kind == kind) return *existing;
    Detach(existing->id);
  }
  InodeId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    slots_.emplace_back();
    id = slots_.size();
  }
  Slot& slot = slots_[id - 1];
  ++slot.generation;
  Inode& inode = slot.inode.emplace();
  inode.id = id;
  inode.generation = slot.generation;
  inode.parent = parent;
  inode.name = std::string(name);
  inode.kind = kind;
  inode.attr.ino = id;
  inode.attr.kind = kind;
  ++live_;
  names_.emplace(std::make_pair(parent, std::string(name)), id);
  if (Inode* p = Get(parent)) ++p->children;
  return inode;
}

void InodeTable::Detach(InodeId id) {
  Inode* inode = Get(id);
  if (inode == nullptr || inode->parent == 0) return;
  InodeId parent = inode->parent;
  EraseName(parent, inode->name);
  inode->parent = 0;
  if (Inode* p = Get(parent)) {
    --p->children;
    MaybeFree(parent);
  }
  MaybeFree(id);
}

void InodeTable::Move(InodeId id, InodeId new_parent, std::string_view new_name) {
  Inode* inode = Get(id);
  if (inode == nullptr) return;
  if (Inode* there = Child(new_parent, new_name); there != nullptr && there->id != id) {
    Detach(there->id);
  }
  inode = Get(id);
  if (inode == nullptr) return;
  // Keep the old parent alive until the new link exists (it may be the new parent).
  InodeId old_parent = inode->parent;
  if (old_parent != 0) {
    EraseName(old_parent, inode->name);
  }
  inode->parent = new_parent;
  inode->name = std::string(new_name);
  names_.emplace(std::make_pair(new_parent, std::string(new_name)), id);
  if (Inode* p = Get(new_parent)) ++p->children;
  if (old_parent != 0) {
    if (Inode* p = Get(old_parent)) {
      --p->children;
      MaybeFree(old_parent);
    }
  }
}

void InodeTable::Forget(InodeId id, uint64_t n) {
  Inode* inode = Get(id);
  if (inode == nullptr) return;
  uint64_t floor = id == kRootInode ? 1 : 0;
  inode->lookups = inode->lookups - floor >= n ? inode->lookups - n : floor;
  MaybeFree(id);
}

void InodeTable::MaybeFree(InodeId id) {
  Inode* inode = Get(id);
  if (inode == nullptr || id == kRootInode) return;
  if (inode->lookups > 0 || inode->opens > 0 || inode->children > 0) return;
  Free(id);
}

void InodeTable::Free(InodeId id) {
  Inode* inode = Get(id);
  InodeId parent = inode->parent;
  if (parent != 0) EraseName(parent, inode->name);
  slots_[id - 1].inode.reset();
  free_.push_back(id);
  --live_;
  if (parent != 0) {
    if (Inode* p = Get(parent)) {
      --p->children;
      MaybeFree(parent);
    }
  }
}

std::optional<std::string> InodeTable::Path(InodeId id) const {
  std::vector<const std::string*> parts;
  const Inode* inode = Get(id);
  while (inode != nullptr && inode->id != kRootInode) {
    if (inode->parent == 0) return std::nullopt;
    parts.push_back(&inode->name);
    inode = Get(inode->parent);
  }
  if (inode == nullptr) return std::nullopt;
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path.push_back('/');
    path += **it;
  }
  return path;
}

bool InodeTable::IsAncestor(InodeId ancestor, InodeId id) const {
  const Inode* inode = Get(id);
  while (inode != nullptr) {
    if (inode->id == ancestor) return true;
    if (inode->parent == 0) return false;
    inode = Get(inode->parent);
  }
  return false;
}

std::vector<const Inode*> InodeTable::Children(InodeId parent) const {
  std::vector<const Inode*> out;
  for (auto it = names_.lower_bound(NameView(parent, ""));
       it != names_.end() && it->first.first == parent; ++it) {
    if (const Inode* c = Get(it->second)) out.push_back(c);
  }
  return out;
}

}  // namespace shadowfs::fs
