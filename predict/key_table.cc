#include "predict/key_table.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace shadowfs::predict {
namespace {

uint64_t HashKey(std::string_view key) { return std::hash<std::string_view>{}(key); }

}  // namespace

KeyTable::KeyTable(size_t capacity) : capacity_(capacity), slots_(64, kEmptySlot) {}

std::string_view KeyTable::NameOf(const Strings& s) const {
  if (s.name_length == 0 || s.name_length == kFree) return {};
  return {At(s.offset), s.name_length};
}

std::string_view KeyTable::EtagOf(const Strings& s) const {
  if (s.etag_length == 0 || s.name_length == kFree) return {};
  return {At(s.offset + s.name_length), s.etag_length};
}

uint32_t KeyTable::Store(std::string_view bytes) {
  if (bytes.empty()) return arena_end_;
  const uint32_t length = static_cast<uint32_t>(bytes.size());
  const size_t in_page = arena_end_ & (kPageSize - 1);
  const bool page_open = static_cast<size_t>(arena_end_) < pages_.size() * kPageSize;
  if (!page_open || in_page + length > kPageSize) {
    // Strings never straddle blocks: the tail of the current page becomes garbage.
    if (page_open) {
      garbage_bytes_ += kPageSize - in_page;
      arena_end_ = static_cast<uint32_t>(pages_.size() * kPageSize);
    }
    const size_t npages = (length + kPageSize - 1) / kPageSize;
    blocks_.push_back(std::make_unique<char[]>(npages * kPageSize));
    for (size_t i = 0; i < npages; ++i) pages_.push_back(blocks_.back().get() + i * kPageSize);
  }
  const uint32_t offset = arena_end_;
  std::memcpy(pages_[offset >> kPageBits] + (offset & (kPageSize - 1)), bytes.data(), length);
  arena_end_ += length;
  return offset;
}

size_t KeyTable::SlotOf(std::string_view key, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (slots_[i] == kEmptySlot || NameOf(strings_[slots_[i]]) == key) return i;
  }
}

void KeyTable::Grow() {
  std::vector<KeyId> old = std::move(slots_);
  slots_.assign(old.size() * 2, kEmptySlot);
  const size_t mask = slots_.size() - 1;
  for (KeyId id : old) {
    if (id == kEmptySlot) continue;
    size_t i = HashKey(NameOf(strings_[id])) & mask;
    while (slots_[i] != kEmptySlot) i = (i + 1) & mask;
    slots_[i] = id;
  }
}

KeyId KeyTable::Intern(std::string_view key) {
  if (key.size() > kMaxName) return kNoKey;
  const uint64_t hash = HashKey(key);
  size_t slot = SlotOf(key, hash);
  if (slots_[slot] != kEmptySlot) return slots_[slot];
  if ((used_ + 1) * 10 > slots_.size() * 7) {
    Grow();
    slot = SlotOf(key, hash);
  }
  KeyId id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<KeyId>(strings_.size());
    if (strings_.size() == strings_.capacity()) {
      // Grow by a quarter, not double: these vectors are most of the fixed cost per key.
      const size_t n = strings_.capacity() + strings_.capacity() / 4 + 64;
      strings_.reserve(n);
      objects_.reserve(n);
    }
    strings_.emplace_back();
    objects_.emplace_back();
  }
  strings_[id] = {Store(key), static_cast<uint16_t>(key.size()), 0};
  objects_[id] = {};
  slots_[slot] = id;
  ++used_;
  return id;
}

std::optional<KeyId> KeyTable::Find(std::string_view key) const {
  const size_t slot = SlotOf(key, HashKey(key));
  if (slots_[slot] == kEmptySlot) return std::nullopt;
  return slots_[slot];
}

bool KeyTable::over_capacity() const { return used_ > capacity_; }

std::vector<KeyId> KeyTable::LeastRecent(size_t n) const {
  std::vector<KeyId> ids;
  ids.reserve(used_);
  for (KeyId id = 0; id < strings_.size(); ++id) {
    if (InUse(id)) ids.push_back(id);
  }
  n = std::min(n, ids.size());
  auto older = [this](KeyId a, KeyId b) {
    return objects_[a].last_touch != objects_[b].last_touch
               ? objects_[a].last_touch < objects_[b].last_touch
               : a < b;
  };
  std::nth_element(ids.begin(), ids.begin() + n, ids.end(), older);
  ids.resize(n);
  std::sort(ids.begin(), ids.end(), older);
  return ids;
}

void KeyTable::EraseFromIndex(KeyId id) {
  const size_t mask = slots_.size() - 1;
  size_t i = HashKey(NameOf(strings_[id])) & mask;
  while (slots_[i] != id) i = (i + 1) & mask;
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  for (size_t j = (i + 1) & mask; slots_[j] != kEmptySlot; j = (j + 1) & mask) {
    const size_t home = HashKey(NameOf(strings_[slots_[j]])) & mask;
    const bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = kEmptySlot;
}

void KeyTable::Release(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) {
    if (!InUse(id)) continue;
    EraseFromIndex(id);
    garbage_bytes_ += strings_[id].name_length + strings_[id].etag_length;
    strings_[id] = {0, kFree, 0};
    objects_[id] = {};
    free_ids_.push_back(id);
    --used_;
  }
  if (arena_end_ > (1u << 20) && garbage_bytes_ * 2 > arena_end_) Compact();
}

void KeyTable::Compact() {
  std::vector<std::unique_ptr<char[]>> old_blocks = std::move(blocks_);
  std::vector<char*> old_pages = std::move(pages_);
  blocks_.clear();
  pages_.clear();
  arena_end_ = 0;
  garbage_bytes_ = 0;
  for (Strings& s : strings_) {
    if (s.name_length == kFree) continue;
    const size_t length = size_t{s.name_length} + s.etag_length;
    if (length == 0) continue;
    s.offset = Store({old_pages[s.offset >> kPageBits] + (s.offset & (kPageSize - 1)), length});
  }
}

std::string_view KeyTable::Name(KeyId id) const {
  if (id >= strings_.size()) return {};
  return NameOf(strings_[id]);
}

void KeyTable::Touch(KeyId id, base::WallTime when) {
  if (InUse(id)) objects_[id].last_touch = when;
}

void KeyTable::SetObject(KeyId id, uint64_t size, std::string_view etag) {
  if (!InUse(id)) return;
  objects_[id].size = size;
  Strings& s = strings_[id];
  if (etag.size() > kMaxEtag) etag = {};  // not kept: unknown
  if (EtagOf(s) == etag) return;
  const uint32_t etag_at = s.offset + s.name_length;
  const bool last = etag_at + s.etag_length == arena_end_ &&
                    (s.offset & (kPageSize - 1)) + s.name_length + etag.size() <= kPageSize;
  if (etag.size() <= s.etag_length || last) {
    // In place, after the name: an ETag no longer than the one before (the common case: hex
    // digests of one length), or the key's strings are the arena's last and its page has room
    // (the first ETag of a key just interned).
    if (!etag.empty()) {
      std::memcpy(pages_[etag_at >> kPageBits] + (etag_at & (kPageSize - 1)), etag.data(),
                  etag.size());
    }
    if (last) {
      arena_end_ = etag_at + static_cast<uint32_t>(etag.size());
    } else {
      garbage_bytes_ += s.etag_length - etag.size();
    }
  } else {
    // Longer: the name and the ETag move together to the end of the arena.
    std::string both(NameOf(s));
    both.append(etag);
    garbage_bytes_ += size_t{s.name_length} + s.etag_length;
    s.offset = Store(both);
  }
  s.etag_length = static_cast<uint16_t>(etag.size());
}

std::string_view KeyTable::etag(KeyId id) const {
  if (!InUse(id)) return {};
  return EtagOf(strings_[id]);
}

const KeyTable::Object* KeyTable::object(KeyId id) const {
  if (!InUse(id)) return nullptr;
  return &objects_[id];
}

size_t KeyTable::size() const { return used_; }
size_t KeyTable::capacity() const { return capacity_; }

size_t KeyTable::MemoryBytes() const {
  return pages_.size() * static_cast<size_t>(kPageSize) + pages_.capacity() * sizeof(char*) +
         blocks_.capacity() * sizeof(blocks_[0]) + strings_.capacity() * sizeof(Strings) +
         objects_.capacity() * sizeof(Object) + free_ids_.capacity() * sizeof(KeyId) +
         slots_.capacity() * sizeof(KeyId);
}

}  // namespace shadowfs::predict
