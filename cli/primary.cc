#include "cli/primary.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "blobstore/local_dir_blob_store.h"
#include "blobstore/mem_blob_store.h"
#include "blobstore/s3/s3_blob_store.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

void AddPrimaryFlags(CLI::App* app, PrimaryOptions* o) {
  app->add_option("--endpoint", o->endpoint, "S3 endpoint URL (default: AWS for --region)");
  app->add_option("--region", o->region, "S3 region")->capture_default_str();
  app->add_option("--profile", o->profile, "Profile in ~/.aws/credentials");
  app->add_option("--credentials-file", o->credentials_file,
                  "Credentials file (~/.aws/credentials format, mode 0600)");
  app->add_option("--ca-bundle", o->ca_bundle, "PEM file of CA certificates for HTTPS");
  app->add_flag("--virtual-hosted", o->virtual_hosted,
                "Address buckets as BUCKET.endpoint instead of endpoint/BUCKET");
  app->add_flag("--no-verify-tls", o->no_verify_tls,
                "Do not verify the server's TLS certificate (unsafe)");
}

Result<std::string> DefaultPrimaryUrl() {
  std::string dir;
  if (geteuid() == 0) {
    dir = "/var/lib/shadowfs/primary";
  } else if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg == '/') {
    dir = std::string(xdg) + "/shadowfs/primary";
  } else if (const char* home = std::getenv("HOME"); home && *home == '/') {
    dir = std::string(home) + "/.local/share/shadowfs/primary";
  } else {
    return Status::InvalidArgument("no default primary: HOME is not set; give a primary URL");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create the default primary " + dir + ": " + ec.message());
  return "file://" + dir;
}

namespace {

Result<Primary> OpenS3(const PrimaryOptions& o, std::string_view rest, base::Runtime runtime) {
  std::string bucket(rest.substr(0, rest.find('/')));
  std::string prefix;
  if (rest.size() > bucket.size() + 1) {
    prefix = std::string(rest.substr(bucket.size() + 1));
    if (prefix.back() != '/') prefix += '/';
  }
  s3::CredentialOptions credential_options;
  credential_options.profile = o.profile;
  credential_options.credentials_file = o.credentials_file;
  SHADOWFS_ASSIGN_OR_RETURN(s3::Credentials credentials, s3::LoadCredentials(credential_options));
  s3::S3Config config;
  config.endpoint = o.endpoint;
  config.region = o.region;
  config.bucket = bucket;
  config.path_style = !o.virtual_hosted;
  config.verify_tls = !o.no_verify_tls;
  config.ca_bundle = o.ca_bundle;
  config.credentials = std::move(credentials);
  config.max_connections = o.max_connections;
  SHADOWFS_ASSIGN_OR_RETURN(auto store, s3::S3BlobStore::Create(std::move(config), runtime));
  return Primary{std::move(store), prefix};
}

}  // namespace

Result<Primary> OpenPrimary(const PrimaryOptions& o, base::Runtime runtime) {
  std::string_view url = o.url;
  if (url == "mem://") return Primary{std::make_unique<blobstore::MemBlobStore>(runtime.clock), ""};
  if (url.starts_with("file://")) {
    std::string path(url.substr(7));
    if (path.empty() || path[0] != '/') {
      return Status::InvalidArgument(
          "a file:// primary needs an absolute path, as in "
          "file:///srv/data (got '" +
          o.url + "')");
    }
    SHADOWFS_ASSIGN_OR_RETURN(auto store, blobstore::LocalDirBlobStore::Open(path, runtime.clock));
    return Primary{std::move(store), ""};
  }
  if (url.starts_with("s3://")) {
    std::string_view rest = url.substr(5);
    if (rest.empty() || rest[0] == '/') {
      return Status::InvalidArgument("an s3:// primary needs a bucket, as in s3://bucket/prefix");
    }
    return OpenS3(o, rest, runtime);
  }
  return Status::InvalidArgument("unknown primary '" + o.url +
                                 "': use file:///absolute/dir, s3://bucket[/prefix] or mem://");
}

}  // namespace shadowfs::cli
