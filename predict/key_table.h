// KeyTable: interns keys (and process names) as dense KeyIds so that every model keeps 4-byte ids
// instead of strings: the per-file state budget is 200 bytes (issue 5), and a key is stored once
// however many models know it. Each entry also remembers what the engine last saw of the object
// (size, ETag) and when, which the planner needs for If-Match and byte costs.
//
// Bounded: past `capacity` keys, the engine (between two accesses, never inside a model's call)
// takes the least recently touched ids, makes every model Forget them, and Releases them for
// reuse. Intern itself never invalidates an id, so models may intern keys (a directory's
// members) while they observe.
//
// Not thread-safe: owned by the engine's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/clock.h"
#include "predict/types.h"

namespace shadowfs::predict {

class KeyTable {
 public:
  explicit KeyTable(size_t capacity);

  // The id of `key`, interning it if new (the table may go past capacity until Release). Keys
  // are at most kMaxName bytes; a longer one is refused (kNoKey).
  static constexpr size_t kMaxName = 0xfffe;
  static constexpr size_t kMaxEtag = 0xffff;  // a longer ETag is not kept (unknown)
  KeyId Intern(std::string_view key);
  bool over_capacity() const;
  // The `n` least recently touched ids in use, for the engine to recycle.
  std::vector<KeyId> LeastRecent(size_t n) const;
  // Frees the ids (their names and objects) for reuse by later Interns.
  void Release(const std::vector<KeyId>& ids);
  std::optional<KeyId> Find(std::string_view key) const;
  std::string_view Name(KeyId id) const;  // "" for an id not in use

  // What the engine knows of the object behind `id` (16 bytes per id).
  struct Object {
    uint64_t size = 0;
    base::WallTime last_touch{};
  };
  void Touch(KeyId id, base::WallTime when);
  void SetObject(KeyId id, uint64_t size, std::string_view etag);
  const Object* object(KeyId id) const;  // nullptr for an id not in use
  // The object's ETag ("" unknown), a view of the table's arena: valid until the next Release
  // (which may compact the arena) or SetObject of this id.
  std::string_view etag(KeyId id) const;

  size_t size() const;
  size_t capacity() const;
  size_t MemoryBytes() const;

 private:
  // A key's name and its object's ETag live side by side in an arena of fixed 64 KiB pages that
  // never move while ids are in use (so string_views handed out stay valid across Intern),
  // addressed by a 32-bit arena offset and two 16-bit lengths (names are at most kMaxName bytes:
  // S3 allows 1024, a path 4096). Release compacts the arena once more than half of it is
  // garbage. The index is an open-addressing hash set of ids (linear probing, backward-shift
  // deletion) that hashes the names in the arena, so a key costs its bytes plus about 40 bytes of
  // fixed state.
  static constexpr uint32_t kPageBits = 16;
  static constexpr uint32_t kPageSize = 1u << kPageBits;
  static constexpr uint32_t kEmptySlot = 0xffffffffu;
  struct Strings {
    uint32_t offset = 0;
    uint16_t name_length = 0;  // kFree: an id not in use
    uint16_t etag_length = 0;  // the ETag follows the name
  };
  static constexpr uint16_t kFree = 0xffff;

  bool InUse(KeyId id) const { return id < strings_.size() && strings_[id].name_length != kFree; }
  const char* At(uint32_t offset) const {
    return pages_[offset >> kPageBits] + (offset & (kPageSize - 1));
  }
  std::string_view NameOf(const Strings& s) const;
  std::string_view EtagOf(const Strings& s) const;
  // Copies `bytes` (one string, never split across pages) into the arena; returns its offset.
  uint32_t Store(std::string_view bytes);
  size_t SlotOf(std::string_view key, uint64_t hash) const;
  void Grow();
  void EraseFromIndex(KeyId id);
  void Compact();

  size_t capacity_;
  size_t used_ = 0;
  std::vector<std::unique_ptr<char[]>> blocks_;  // owners; a block spans one or more pages
  std::vector<char*> pages_;                     // page index -> its first byte
  uint32_t arena_end_ = 0;                       // next free offset
  size_t garbage_bytes_ = 0;                     // bytes no live string uses
  std::vector<Strings> strings_;                 // by id
  std::vector<Object> objects_;                  // by id
  std::vector<KeyId> free_ids_;
  std::vector<KeyId> slots_;  // the index; size a power of two, at most 70% full
};

}  // namespace shadowfs::predict
