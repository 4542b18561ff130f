#include "fs/object_meta.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>

#include "blobstore/base/digest.h"

namespace shadowfs::fs {
namespace {

const std::string* Find(const blobstore::UserMetadata& metadata, std::string_view name) {
  auto it = metadata.find(std::string(name));
  return it == metadata.end() ? nullptr : &it->second;
}

// A whole-string unsigned number in `base` (0: C's prefixes, as s3fs reads uid/gid).
std::optional<uint64_t> ParseUnsigned(std::string_view text, int base) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
  std::string copy(text);
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(copy.c_str(), &end, base);
  if (errno != 0 || end != copy.c_str() + copy.size()) return std::nullopt;
  return static_cast<uint64_t>(v);
}

std::optional<uint32_t> ParseId(const std::string* text) {
  if (text == nullptr) return std::nullopt;
  auto v = ParseUnsigned(*text, 0);
  if (!v || *v > 0xffffffffull) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// Reads a JSON string at text[*pos] (which must be '"'); false on malformed input. Handles the
// escapes EncodeXattrs writes and the common ones; \uXXXX above 0x7f is stored as UTF-8.
bool ReadJsonString(std::string_view text, size_t* pos, std::string* out) {
  if (*pos >= text.size() || text[*pos] != '"') return false;
  ++*pos;
  while (*pos < text.size()) {
    char c = text[(*pos)++];
    if (c == '"') return true;
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (*pos >= text.size()) return false;
    char e = text[(*pos)++];
    switch (e) {
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'u': {
        if (*pos + 4 > text.size()) return false;
        unsigned cp = 0;
        auto r = std::from_chars(text.data() + *pos, text.data() + *pos + 4, cp, 16);
        if (r.ptr != text.data() + *pos + 4) return false;
        *pos += 4;
        if (cp < 0x80) {
          out->push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
          out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
          out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
          out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
        break;
      }
      default:
        out->push_back(e);
        break;
    }
  }
  return false;
}

void SkipSpace(std::string_view text, size_t* pos) {
  while (*pos < text.size() &&
         (text[*pos] == ' ' || text[*pos] == '\t' || text[*pos] == '\n' || text[*pos] == '\r')) {
    ++*pos;
  }
}

}  // namespace

std::string FormatTime(base::WallTime t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  int64_t sec = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --sec;
  }
  std::string out = std::to_string(sec);
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    out += "." + std::string(9 - digits.size(), '0') + digits;
  }
  return out;
}

std::optional<base::WallTime> ParseTime(std::string_view text) {
  std::string_view whole = text;
  std::string_view frac;
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    whole = text.substr(0, dot);
    frac = text.substr(dot + 1);
  }
  auto sec = ParseUnsigned(whole, 10);
  // s3fs treats <= 0 as absent; beyond year ~2500 is garbage too (and would overflow ns).
  if (!sec || *sec == 0 || *sec > 16'000'000'000ull) return std::nullopt;
  int64_t nanos = 0;
  if (!frac.empty()) {
    // A decimal fraction: s3fs writes 9 digits, rclone may write fewer or more.
    std::string digits(frac.substr(0, 9));
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    digits.append(9 - digits.size(), '0');
    nanos = std::stoll(digits);
  }
  return base::WallTime(std::chrono::duration_cast<base::WallTime::duration>(
      std::chrono::seconds(*sec) + std::chrono::nanoseconds(nanos)));
}

Attributes DecodeAttributes(const blobstore::UserMetadata& metadata, ObjectShape shape,
                            base::WallTime last_modified, const MetaDefaults& defaults) {
  Attributes attr;
  const bool dir = shape == ObjectShape::kDirMarker;
  uint32_t perms = dir ? defaults.dir_mode : defaults.file_mode;
  uint32_t type = dir ? S_IFDIR : S_IFREG;
  if (const std::string* m = Find(metadata, kMetaMode)) {
    auto v = ParseUnsigned(*m, 10);
    if (v && *v <= 0xffffffffull) {
      perms = static_cast<uint32_t>(*v) & 07777;
      if (!dir && (*v & S_IFMT) == S_IFLNK) type = S_IFLNK;
    }
  }
  attr.kind =
      dir ? FileKind::kDirectory : (type == S_IFLNK ? FileKind::kSymlink : FileKind::kRegular);
  attr.mode = type | (perms & 07777);
  attr.nlink = dir ? 2 : 1;
  attr.uid = ParseId(Find(metadata, kMetaUid)).value_or(defaults.uid);
  attr.gid = ParseId(Find(metadata, kMetaGid)).value_or(defaults.gid);
  auto time_of = [&](std::string_view name) -> std::optional<base::WallTime> {
    const std::string* t = Find(metadata, name);
    return t ? ParseTime(*t) : std::nullopt;
  };
  attr.mtime = time_of(kMetaMtime).value_or(last_modified);
  attr.ctime = time_of(kMetaCtime).value_or(attr.mtime);
  attr.atime = time_of(kMetaAtime).value_or(attr.mtime);
  return attr;
}

blobstore::UserMetadata EncodeAttributes(const Attributes& attr,
                                         const blobstore::UserMetadata& base) {
  blobstore::UserMetadata out = base;
  out[std::string(kMetaMode)] = std::to_string(attr.mode);
  out[std::string(kMetaUid)] = std::to_string(attr.uid);
  out[std::string(kMetaGid)] = std::to_string(attr.gid);
  out[std::string(kMetaMtime)] = FormatTime(attr.mtime);
  out[std::string(kMetaAtime)] = FormatTime(attr.atime);
  out[std::string(kMetaCtime)] = FormatTime(attr.ctime);
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      unsigned v = 0;
      auto r = std::from_chars(text.data() + i + 1, text.data() + i + 3, v, 16);
      if (r.ptr == text.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i] == '+' ? ' ' : text[i]);
  }
  return out;
}

Xattrs DecodeXattrs(std::string_view header) {
  Xattrs out;
  std::string json = PercentDecode(header);
  size_t pos = 0;
  SkipSpace(json, &pos);
  if (pos >= json.size() || json[pos] != '{') return {};
  ++pos;
  SkipSpace(json, &pos);
  if (pos < json.size() && json[pos] == '}') return out;
  while (pos < json.size()) {
    std::string name, value;
    SkipSpace(json, &pos);
    if (!ReadJsonString(json, &pos, &name)) return {};
    SkipSpace(json, &pos);
    if (pos >= json.size() || json[pos] != ':') return {};
    ++pos;
    SkipSpace(json, &pos);
    if (!ReadJsonString(json, &pos, &value)) return {};
    auto decoded = base::Base64Decode(value);
    if (!decoded) return {};
    if (!name.empty()) out[name] = std::move(*decoded);
    SkipSpace(json, &pos);
    if (pos < json.size() && json[pos] == ',') {
      ++pos;
      continue;
    }
    if (pos < json.size() && json[pos] == '}') return out;
    return {};
  }
  return {};
}

std::string EncodeXattrs(const Xattrs& xattrs) {
  std::string json = "{";
  bool first = true;
  for (const auto& [name, value] : xattrs) {
    if (!first) json.push_back(',');
    first = false;
    AppendJsonString(name, &json);
    json.push_back(':');
    AppendJsonString(base::Base64Encode(value), &json);
  }
  json.push_back('}');
  return PercentEncode(json);
}

Xattrs GetXattrs(const blobstore::UserMetadata& metadata) {
  const std::string* h = Find(metadata, kMetaXattr);
  return h ? DecodeXattrs(*h) : Xattrs{};
}

void PutXattrs(const Xattrs& xattrs, blobstore::UserMetadata* metadata) {
  if (xattrs.empty()) {
    metadata->erase(std::string(kMetaXattr));
  } else {
    (*metadata)[std::string(kMetaXattr)] = EncodeXattrs(xattrs);
  }
}

}  // namespace shadowfs::fs
