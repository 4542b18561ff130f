#include "cli/mount_options.h"

#include <charconv>
#include <sstream>

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

bool IsMountHelperOnly(const std::string& key) {
  static const char* const kDropped[] = {"_netdev", "auto",     "noauto", "nofail",
                                         "user",    "nouser",   "users",  "owner",
                                         "group",   "defaults", "rw",     "comment"};
  for (const char* d : kDropped) {
    if (key == d) return true;
  }
  return key.starts_with("x-");  // x-systemd.*, x-gvfs-*: meant for other readers of fstab
}

Result<uint32_t> ParseNumber(const std::string& key, const std::string& value, int base) {
  uint32_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out, base);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
    return Status::InvalidArgument("bad -o " + key + "='" + value + "': expected a number");
  }
  return out;
}

Status NeedsValue(const std::string& key) {
  return Status::InvalidArgument("-o " + key + " needs a value, as in " + key + "=VALUE");
}

}  // namespace

Status ApplyMountOptions(MountCommandOptions* o, MountOptionEffects* effects) {
  for (const std::string& group : o->o) {
    std::stringstream in(group);
    std::string item;
    while (std::getline(in, item, ',')) {
      if (item.empty()) continue;
      size_t eq = item.find('=');
      std::string key = item.substr(0, eq);
      bool has_value = eq != std::string::npos;
      std::string value = has_value ? item.substr(eq + 1) : "";
      // The flags' own spelling, and the underscore one fstab writers often use.
      std::string name = key;
      if (!name.starts_with("_")) {
        for (char& c : name) {
          if (c == '_') c = '-';
        }
      }
      auto text = [&](std::string* field) -> Status {
        if (!has_value) return NeedsValue(key);
        *field = value;
        return Status::Ok();
      };
      if (IsMountHelperOnly(key)) continue;
      if (name == "endpoint") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->primary.endpoint));
      } else if (name == "region") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->primary.region));
      } else if (name == "profile") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->primary.profile));
      } else if (name == "credentials-file") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->primary.credentials_file));
      } else if (name == "ca-bundle") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->primary.ca_bundle));
      } else if (name == "virtual-hosted") {
        o->primary.virtual_hosted = true;
      } else if (name == "no-verify-tls") {
        o->primary.no_verify_tls = true;
      } else if (name == "store") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->store_dir));
      } else if (name == "cache-size") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->cache_size));
      } else if (name == "min-confidence") {
        if (!has_value) return NeedsValue(key);
        char* end = nullptr;
        o->min_confidence = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0') {
          return Status::InvalidArgument("bad -o min-confidence='" + value +
                                         "': expected a number from 0 to 1");
        }
      } else if (name == "conflict") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->conflict));
      } else if (name == "writeback") {
        o->writeback = true;
      } else if (name == "foreground") {
        o->foreground = true;
      } else if (name == "debug") {
        o->debug = true;
      } else if (name == "log-level") {
        SHADOWFS_RETURN_IF_ERROR(text(&o->log_level));
      } else if (key == "uid" || key == "gid" || key == "umask") {
        // The low-level FUSE API has no such options: they set the core's defaults for objects
        // that carry no POSIX metadata.
        if (!has_value) return NeedsValue(key);
        SHADOWFS_ASSIGN_OR_RETURN(uint32_t n, ParseNumber(key, value, key == "umask" ? 8 : 10));
        (key == "uid" ? effects->uid : key == "gid" ? effects->gid : effects->umask) = n;
      } else {
        if (key == "ro") effects->read_only = true;
        effects->fuse_options.push_back(item);
      }
    }
  }
  return Status::Ok();
}

}  // namespace shadowfs::cli
