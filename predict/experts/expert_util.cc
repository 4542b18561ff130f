#include "predict/experts/expert_util.h"

#include <algorithm>
#include <cstring>

namespace shadowfs::predict::experts {

BlobWriter::BlobWriter(std::string_view name, uint32_t version) {
  PutStr(name);
  PutVar(version);
}

void BlobWriter::PutVar(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void BlobWriter::PutI64(int64_t v) {
  PutVar((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void BlobWriter::PutF64(double v) {
  char bytes[8];
  std::memcpy(bytes, &v, 8);
  out_.append(bytes, 8);
}

void BlobWriter::PutStr(std::string_view s) {
  PutVar(s.size());
  out_.append(s);
}

base::Status BlobReader::ReadHeader(std::string_view name, uint32_t version) {
  const std::string_view got = GetStr();
  const uint64_t got_version = GetVar();
  if (!ok_ || got != name) {
    ok_ = false;
    return base::Status::Corruption("predict state: not a '" + std::string(name) + "' blob");
  }
  if (got_version != version) {
    ok_ = false;
    return base::Status::Corruption("predict state: '" + std::string(name) + "' version " +
                                    std::to_string(got_version) + ", expected " +
                                    std::to_string(version));
  }
  return base::Status::Ok();
}

uint64_t BlobReader::GetVar() {
  uint64_t v = 0;
  for (int shift = 0; ok_; shift += 7) {
    if (in_.empty() || shift > 63) break;
    const uint8_t b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  ok_ = false;
  return 0;
}

int64_t BlobReader::GetI64() {
  const uint64_t z = GetVar();
  return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

double BlobReader::GetF64() {
  if (!ok_ || in_.size() < 8) {
    ok_ = false;
    return 0;
  }
  double v;
  std::memcpy(&v, in_.data(), 8);
  in_.remove_prefix(8);
  return v;
}

std::string_view BlobReader::GetStr() {
  const uint64_t n = GetVar();
  if (!ok_ || n > in_.size()) {
    ok_ = false;
    return {};
  }
  std::string_view s = in_.substr(0, n);
  in_.remove_prefix(n);
  return s;
}

uint64_t BlobReader::GetCount(size_t min_item_bytes) {
  const uint64_t n = GetVar();
  if (!ok_ || n > in_.size() / std::max<size_t>(min_item_bytes, 1)) {
    ok_ = false;
    return 0;
  }
  return n;
}

base::Status BlobReader::Finish(std::string_view what) const {
  if (done()) return base::Status::Ok();
  return base::Status::Corruption("predict state: malformed '" + std::string(what) + "' blob");
}

std::string_view DirOf(std::string_view key) {
  const size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : key.substr(0, slash + 1);
}

std::string_view BaseOf(std::string_view key) { return key.substr(DirOf(key).size()); }

namespace {
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

int NaturalCompare(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (IsDigit(a[i]) && IsDigit(b[j])) {
      size_t ie = i, je = j;
      while (ie < a.size() && IsDigit(a[ie])) ++ie;
      while (je < b.size() && IsDigit(b[je])) ++je;
      size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;  // leading zeros do not change the number
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js ? -1 : 1;
      const int c = a.substr(is, ie - is).compare(b.substr(js, je - js));
      if (c != 0) return c < 0 ? -1 : 1;
      if (ie - i != je - j) return ie - i < je - j ? -1 : 1;  // "07" vs "7": fewer zeros first
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) {
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
    }
    ++i;
    ++j;
  }
  if (i == a.size() && j == b.size()) return 0;
  return i == a.size() ? -1 : 1;
}

std::optional<int64_t> NumericStep(std::string_view a, std::string_view b) {
  // The common prefix must end before a digit run that differs; the suffixes after the runs
  // must match.
  size_t p = 0;
  while (p < a.size() && p < b.size() && a[p] == b[p]) ++p;
  while (p > 0 && IsDigit(a[p - 1])) --p;  // back to the start of the digit run
  size_t ae = p, be = p;
  while (ae < a.size() && IsDigit(a[ae])) ++ae;
  while (be < b.size() && IsDigit(b[be])) ++be;
  if (ae == p || be == p || a.substr(ae) != b.substr(be) || ae - p > 18 || be - p > 18) {
    return std::nullopt;
  }
  int64_t x = 0, y = 0;
  for (size_t i = p; i < ae; ++i) x = x * 10 + (a[i] - '0');
  for (size_t i = p; i < be; ++i) y = y * 10 + (b[i] - '0');
  return y - x;
}

std::optional<std::string> NextNumberedDir(std::string_view dir) {
  if (dir.size() < 2 || dir.back() != '/') return std::nullopt;
  const size_t start = dir.rfind('/', dir.size() - 2) + 1;  // npos + 1 == 0: a top-level dir
  size_t end = dir.size() - 1;  // one past the last digit of the last digit run
  while (end > start && !IsDigit(dir[end - 1])) --end;
  if (end == start) return std::nullopt;
  std::string next(dir);
  size_t i = end;
  while (i > start && IsDigit(next[i - 1])) {
    if (next[i - 1] != '9') {
      ++next[i - 1];
      return next;
    }
    next[i - 1] = '0';
    --i;
  }
  next.insert(i, 1, '1');  // every digit was a 9: one digit more
  return next;
}

uint64_t HashBytes(std::string_view s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ Mix64(seed);
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return Mix64(h);
}

IdSet::IdSet(const std::vector<KeyId>& ids) : ids_(ids) { std::sort(ids_.begin(), ids_.end()); }

bool IdSet::contains(KeyId id) const { return std::binary_search(ids_.begin(), ids_.end(), id); }

Candidate FileCandidate(const KeyTable& keys, KeyId key, double score, const FileRangeRule& rule,
                        base::WallTime expected_read, uint64_t tail) {
  Candidate c;
  c.key = key;
  c.score = std::clamp(score, 0.0, 1.0);
  c.expected_read = expected_read;
  const KeyTable::Object* object = keys.object(key);
  if (object != nullptr && tail != 0 && object->size > tail) {
    c.offset = object->size - tail;
    c.length = tail;
  } else if (object != nullptr && object->size > rule.whole_object_max) {
    c.length = rule.window;
  }
  return c;
}

void RecentScores::Add(KeyId key, double score, base::WallTime when) {
  for (Item& item : items_) {
    if (item.key == key) {
      item.score = static_cast<float>(score);
      item.when = UnixSeconds(when);
      return;
    }
  }
  items_[next_] = {key, static_cast<float>(score), UnixSeconds(when)};
  next_ = (next_ + 1) % kSize;
}

double RecentScores::Get(KeyId key, base::WallTime now, std::chrono::seconds horizon) const {
  const int64_t t = UnixSeconds(now);
  for (const Item& item : items_) {
    if (item.key == key && t - item.when <= horizon.count()) return item.score;
  }
  return 0;
}

void RecentScores::Forget(const IdSet& ids) {
  for (Item& item : items_) {
    if (item.key != kNoKey && ids.contains(item.key)) item = Item{};
  }
}

}  // namespace shadowfs::predict::experts
