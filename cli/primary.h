// Turns a primary URL and the S3 flags into a BlobStore: `file:///absolute/dir` (the embedded
// default), `s3://bucket[/prefix]`, or `mem://` (for trying things out). Single-threaded setup.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"

namespace shadowfs::cli {

struct PrimaryOptions {
  std::string url;
  std::string endpoint;
  std::string region = "us-east-1";
  std::string profile;
  std::string credentials_file;
  std::string ca_bundle;
  bool virtual_hosted = false;
  bool no_verify_tls = false;
  int max_connections = 32;  // an S3 primary's connection pool (set by the caller, not a flag)
};

// Adds --endpoint, --region, --profile, --credentials-file, --ca-bundle, --virtual-hosted and
// --no-verify-tls to a subcommand.
void AddPrimaryFlags(CLI::App* app, PrimaryOptions* options);

struct Primary {
  std::unique_ptr<blobstore::BlobStore> store;
  std::string prefix;  // the key prefix under which the filesystem lives ("" or "dir/")
};

base::Result<Primary> OpenPrimary(const PrimaryOptions& options, base::Runtime runtime);

// The embedded default primary: /var/lib/shadowfs/primary for root, otherwise
// $XDG_DATA_HOME/shadowfs/primary (~/.local/share/shadowfs/primary). Created if missing.
base::Result<std::string> DefaultPrimaryUrl();

}  // namespace shadowfs::cli
