// The shadowfs command line: the composition root that builds every component.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "blobstore/base/clock.h"
#include "blobstore/mem_blob_store.h"
#include "cli/selfcheck.h"

int main(int argc, char** argv) {
  CLI::App app{"shadowfs: a FUSE filesystem for S3-compatible storage, served from predicted shadows"};
  app.set_version_flag("--version", std::string("shadowfs ") + SHADOWFS_VERSION);
  app.require_subcommand(1);

  auto* selfcheck = app.add_subcommand("selfcheck", "Exercise a primary end to end and report");
  std::string primary = "mem://";
  selfcheck->add_option("primary", primary, "The primary to check (mem://)");

  CLI11_PARSE(app, argc, argv);

  shadowfs::base::SystemClock clock;
  if (*selfcheck) {
    if (primary != "mem://") {
      std::cerr << "shadowfs: unsupported primary '" << primary << "'\n";
      return 2;
    }
    shadowfs::blobstore::MemBlobStore store(&clock);
    return shadowfs::cli::RunSelfCheck(store, std::cout) == 0 ? 0 : 1;
  }
  return 0;
}
