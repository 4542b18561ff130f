#include "blobstore/s3/credentials.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace shadowfs::s3 {
namespace {

using base::Result;
using base::Status;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string OctalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

using Profiles = std::map<std::string, std::map<std::string, std::string>>;

// Parses the INI format of ~/.aws/credentials. Error messages name the file and line but never
// echo a line, which could hold a secret.
Result<Profiles> ParseCredentialsFile(const std::string& path, const std::string& text) {
  Profiles profiles;
  std::istringstream in(text);
  std::string line;
  std::string section;
  bool in_section = false;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    const std::string where = path + ":" + std::to_string(number);
    if (t[0] == '[') {
      if (t.back() != ']') {
        return Status::InvalidArgument(where + ": section header is missing its closing ']'");
      }
      section = Trim(std::string_view(t).substr(1, t.size() - 2));
      // The shared config file spells profiles "[profile name]"; accept that here too.
      if (section.rfind("profile ", 0) == 0) section = Trim(section.substr(8));
      if (section.empty()) return Status::InvalidArgument(where + ": empty profile name");
      profiles[section];
      in_section = true;
      continue;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument(where + ": expected 'name = value' or '[profile]'");
    }
    if (!in_section) {
      return Status::InvalidArgument(where + ": setting before the first [profile] header");
    }
    std::string name = Trim(std::string_view(t).substr(0, eq));
    if (name.empty()) return Status::InvalidArgument(where + ": setting without a name");
    profiles[section][name] = Trim(std::string_view(t).substr(eq + 1));
  }
  return profiles;
}

enum class FileKind { kUserNamed, kShared };

// Ok with empty credentials when the file or profile is absent and that is not an error.
Result<Credentials> FromFile(const std::string& path, const std::string& profile, FileKind kind,
                             std::vector<std::string>* looked) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT && kind == FileKind::kShared) {
      looked->push_back(path + " (no such file)");
      return Credentials{};
    }
    if (err == ENOENT) return Status::NotFound("credentials file " + path + " does not exist");
    return base::ErrnoStatus(err, "reading credentials file " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("credentials file " + path + " is not a regular file");
  }
  if (kind == FileKind::kUserNamed && (st.st_mode & 077) != 0) {
    return Status::PermissionDenied(
        "credentials file " + path + " has mode " + OctalMode(st.st_mode) +
        ", which lets group or others read it; run 'chmod 600 " + path + "' first");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return base::ErrnoStatus(errno, "opening credentials file " + path);
  std::stringstream buffer;
  buffer << f.rdbuf();
  SHADOWFS_ASSIGN_OR_RETURN(Profiles profiles, ParseCredentialsFile(path, buffer.str()));
  auto it = profiles.find(profile);
  if (it == profiles.end()) {
    if (kind == FileKind::kUserNamed) {
      return Status::NotFound("credentials file " + path + " has no profile [" + profile + "]");
    }
    looked->push_back(path + " (no profile [" + profile + "])");
    return Credentials{};
  }
  const auto& values = it->second;
  auto get = [&](const char* name) {
    auto v = values.find(name);
    return v == values.end() ? std::string() : v->second;
  };
  Credentials c;
  c.access_key_id = get("aws_access_key_id");
  c.secret_access_key = get("aws_secret_access_key");
  c.session_token = get("aws_session_token");
  if (c.session_token.empty()) c.session_token = get("aws_security_token");
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::InvalidArgument("profile [" + profile + "] in " + path +
                                   " needs both aws_access_key_id and aws_secret_access_key");
  }
  c.source = path + " [" + profile + "]";
  return c;
}

}  // namespace

Result<Credentials> LoadCredentials(const CredentialOptions& options) {
  std::string profile = options.profile;
  if (profile.empty()) profile = Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::vector<std::string> looked;

  if (!options.credentials_file.empty()) {
    return FromFile(options.credentials_file, profile, FileKind::kUserNamed, &looked);
  }

  std::string id = Env("AWS_ACCESS_KEY_ID");
  std::string secret = Env("AWS_SECRET_ACCESS_KEY");
  if (!id.empty() || !secret.empty()) {
    if (id.empty() || secret.empty()) {
      return Status::InvalidArgument(
          std::string(id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
          " is set in the environment but " +
          (id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is not");
    }
    Credentials c;
    c.access_key_id = id;
    c.secret_access_key = secret;
    c.session_token = Env("AWS_SESSION_TOKEN");
    c.source = "environment";
    return c;
  }
  looked.push_back("environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set)");

  std::string shared = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (shared.empty()) {
    std::string home = options.home.empty() ? Env("HOME") : options.home;
    if (!home.empty()) shared = home + "/.aws/credentials";
  }
  if (!shared.empty()) {
    SHADOWFS_ASSIGN_OR_RETURN(Credentials c, FromFile(shared, profile, FileKind::kShared, &looked));
    if (!c.empty()) return c;
  } else {
    looked.push_back("~/.aws/credentials (HOME is not set)");
  }

  std::string message = "no AWS credentials found; looked in: ";
  for (size_t i = 0; i < looked.size(); ++i) {
    if (i > 0) message += "; ";
    message += looked[i];
  }
  return Status::NotFound(message);
}

}  // namespace shadowfs::s3
