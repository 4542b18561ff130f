// AWS credentials and where they come from: explicit values, the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the shared credentials file
// (~/.aws/credentials or AWS_SHARED_CREDENTIALS_FILE, profile from AWS_PROFILE or "default"), or a
// credentials file named by the user, which must not be readable by group or others.
#pragma once

#include <string>

#include "blobstore/base/result.h"

namespace shadowfs::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  std::string source;         // "environment", "/root/.aws/credentials [default]", ... (no secrets)
  bool empty() const { return access_key_id.empty(); }
};

struct CredentialOptions {
  std::string profile;           // empty: AWS_PROFILE, then "default"
  std::string credentials_file;  // a user-named file in ~/.aws/credentials format; must be 0600
  std::string home;              // empty: $HOME
};

// Looks in order: credentials_file (if given), environment, shared credentials file. NotFound
// with a message listing where it looked; PermissionDenied for a user-named file with loose
// permissions; InvalidArgument for a malformed file.
base::Result<Credentials> LoadCredentials(const CredentialOptions& options);

}  // namespace shadowfs::s3
