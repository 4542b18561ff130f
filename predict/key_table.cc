#include "predict/key_table.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace shadowfs::predict {
namespace {

uint64_t HashKey(std::string_view key) { return std::hash<std::string_view>{}(key); }

}  // namespace

KeyTable::KeyTable(size_t capacity) : capacity_(capacity), slots_(64, kEmptySlot) {}

std::string_view KeyTable::View(Span s) const {
  if (s.length == 0 || s.length == kFree) return {};
  return {pages_[s.offset >> kPageBits] + (s.offset & (kPageSize - 1)), s.length};
}

KeyTable::Span KeyTable::Store(std::string_view bytes) {
  if (bytes.empty()) return {};
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
  Span span{arena_end_, length};
  std::memcpy(pages_[span.offset >> kPageBits] + (span.offset & (kPageSize - 1)), bytes.data(),
              length);
  arena_end_ += length;
  return span;
}

size_t KeyTable::SlotOf(std::string_view key, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (slots_[i] == kEmptySlot || View(names_[slots_[i]]) == key) return i;
  }
}

void KeyTable::Grow() {
  std::vector<KeyId> old = std::move(slots_);
  slots_.assign(old.size() * 2, kEmptySlot);
  const size_t mask = slots_.size() - 1;
  for (KeyId id : old) {
    if (id == kEmptySlot) continue;
    size_t i = HashKey(View(names_[id])) & mask;
    while (slots_[i] != kEmptySlot) i = (i + 1) & mask;
    slots_[i] = id;
  }
}

KeyId KeyTable::Intern(std::string_view key) {
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
    id = static_cast<KeyId>(names_.size());
    if (names_.size() == names_.capacity()) {
      // Grow by a quarter, not double: these vectors are most of the fixed cost per key.
      const size_t n = names_.capacity() + names_.capacity() / 4 + 64;
      names_.reserve(n);
      etags_.reserve(n);
      objects_.reserve(n);
    }
    names_.emplace_back();
    etags_.emplace_back();
    objects_.emplace_back();
  }
  names_[id] = Store(key);
  etags_[id] = {};
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
  for (KeyId id = 0; id < names_.size(); ++id) {
    if (names_[id].length != kFree) ids.push_back(id);
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
  size_t i = HashKey(View(names_[id])) & mask;
  while (slots_[i] != id) i = (i + 1) & mask;
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  for (size_t j = (i + 1) & mask; slots_[j] != kEmptySlot; j = (j + 1) & mask) {
    const size_t home = HashKey(View(names_[slots_[j]])) & mask;
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
    if (id >= names_.size() || names_[id].length == kFree) continue;
    EraseFromIndex(id);
    garbage_bytes_ += names_[id].length + etags_[id].length;
    names_[id] = {0, kFree};
    etags_[id] = {};
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
  auto move = [&](Span s) {
    if (s.length == 0) return s;
    std::string_view old(old_pages[s.offset >> kPageBits] + (s.offset & (kPageSize - 1)), s.length);
    return Store(old);
  };
  for (KeyId id = 0; id < names_.size(); ++id) {
    if (names_[id].length == kFree) continue;
    names_[id] = move(names_[id]);
    etags_[id] = move(etags_[id]);
  }
}

std::string_view KeyTable::Name(KeyId id) const {
  if (id >= names_.size()) return {};
  return View(names_[id]);
}

void KeyTable::Touch(KeyId id, base::WallTime when) {
  if (id < names_.size() && names_[id].length != kFree) objects_[id].last_touch = when;
}

void KeyTable::SetObject(KeyId id, uint64_t size, std::string_view etag) {
  if (id >= names_.size() || names_[id].length == kFree) return;
  objects_[id].size = size;
  if (View(etags_[id]) == etag) return;
  Span& span = etags_[id];
  if (!etag.empty() && etag.size() <= span.length) {
    // Same-length ETags (the common case: hex digests) are rewritten in place.
    std::memcpy(pages_[span.offset >> kPageBits] + (span.offset & (kPageSize - 1)), etag.data(),
                etag.size());
    garbage_bytes_ += span.length - etag.size();
    span.length = static_cast<uint32_t>(etag.size());
  } else {
    garbage_bytes_ += span.length;
    span = Store(etag);
  }
}

std::string_view KeyTable::etag(KeyId id) const {
  if (id >= names_.size() || names_[id].length == kFree) return {};
  return View(etags_[id]);
}

const KeyTable::Object* KeyTable::object(KeyId id) const {
  if (id >= names_.size() || names_[id].length == kFree) return nullptr;
  return &objects_[id];
}

size_t KeyTable::size() const { return used_; }
size_t KeyTable::capacity() const { return capacity_; }

size_t KeyTable::MemoryBytes() const {
  return pages_.size() * static_cast<size_t>(kPageSize) + pages_.capacity() * sizeof(char*) +
         blocks_.capacity() * sizeof(blocks_[0]) + names_.capacity() * sizeof(Span) +
         etags_.capacity() * sizeof(Span) + objects_.capacity() * sizeof(Object) +
         free_ids_.capacity() * sizeof(KeyId) + slots_.capacity() * sizeof(KeyId);
}

}  // namespace shadowfs::predict
