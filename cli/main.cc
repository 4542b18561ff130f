// The shadowfs command line: the composition root that builds every component.
#include <CLI/CLI.hpp>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/logging.h"
#include "blobstore/base/metrics.h"
#include "cli/mount_command.h"
#include "cli/option_sources.h"
#include "cli/predict_command.h"
#include "cli/primary.h"
#include "cli/reconcile_command.h"
#include "cli/selfcheck.h"
#include "cli/shadow_command.h"
#include "cli/stats_command.h"
#include "cli/unmount_command.h"
#include "cli/warmup_command.h"

namespace {

int RunSelfCheckCommand(shadowfs::cli::PrimaryOptions options, shadowfs::base::Runtime runtime) {
  if (options.url.empty()) {
    auto url = shadowfs::cli::DefaultPrimaryUrl();
    if (!url.ok()) {
      std::cerr << "shadowfs: " << url.status().message() << "\n";
      return 1;
    }
    options.url = *url;
  }
  auto primary = shadowfs::cli::OpenPrimary(options, runtime);
  if (!primary.ok()) {
    std::cerr << "shadowfs: " << primary.status().message() << "\n";
    return 1;
  }
  return shadowfs::cli::RunSelfCheck(*primary->store, primary->prefix, std::cout) == 0 ? 0 : 1;
}

}  // namespace

namespace {

int Main(int argc, char** argv) {
  CLI::App app{
      "shadowfs: a FUSE filesystem for S3-compatible storage, served from predicted shadows"};
  app.set_version_flag("--version", std::string("shadowfs ") + SHADOWFS_VERSION);
  app.require_subcommand(1);
  std::string log_level = "warning";
  app.add_option("--log-level", log_level, "debug, info, warning or error")->capture_default_str();
  std::string config_path = shadowfs::cli::kDefaultConfigPath;
  auto* config = app.add_option("--config", config_path,
                                "The configuration file (TOML; see shadowfs.toml(5)); flags and "
                                "-o options override it")
                     ->capture_default_str();
  // Global options (--config, --log-level) may follow the command too.
  app.fallthrough();

  shadowfs::cli::PrimaryOptions selfcheck_options;
  auto* selfcheck = app.add_subcommand(
      "selfcheck", "Write, read, list, copy and delete a probe object on a primary and report");
  selfcheck->add_option("primary", selfcheck_options.url,
                        "file:///dir, s3://bucket[/prefix] or mem:// (default: the embedded "
                        "local-directory primary)");
  shadowfs::cli::AddPrimaryFlags(selfcheck, &selfcheck_options);

  shadowfs::cli::ReconcileCommandOptions reconcile_options;
  auto* reconcile = shadowfs::cli::AddReconcileCommand(app, &reconcile_options);

  shadowfs::cli::MountCommandOptions mount_options;
  auto* mount = shadowfs::cli::AddMountCommand(app, &mount_options);
  shadowfs::cli::UnmountCommandOptions unmount_options;
  auto* unmount = shadowfs::cli::AddUnmountCommand(app, &unmount_options);
  shadowfs::cli::ShadowCommandOptions shadow_options;
  auto* shadow = shadowfs::cli::AddShadowCommand(app, &shadow_options);
  shadowfs::cli::WarmupCommandOptions warmup_options;
  auto* warmup = shadowfs::cli::AddWarmupCommand(app, &warmup_options);
  shadowfs::cli::StatsCommandOptions stats_options;
  auto* stats = shadowfs::cli::AddStatsCommand(app, &stats_options);
  shadowfs::cli::StatusCommandOptions status_options;
  auto* status = shadowfs::cli::AddStatusCommand(app, &status_options);
  shadowfs::cli::PredictCommandOptions predict_options;
  auto* predict = shadowfs::cli::AddPredictCommand(app, &predict_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2, like the commands' own option checks.
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Precedence: flags, then -o, then the file, then the defaults.
  if (*mount) {
    if (auto s = shadowfs::cli::ApplyOptionEntries(mount, &mount_options.o); !s.ok()) {
      std::cerr << "shadowfs mount: " << s.message() << "\n";
      return 2;
    }
  }
  if (auto s = shadowfs::cli::ApplyConfigFile(&app, config_path, config->count() > 0); !s.ok()) {
    std::cerr << "shadowfs: " << s.message() << "\n";
    return 2;
  }

  shadowfs::base::LogLevel level;
  if (!shadowfs::base::ParseLogLevel(log_level, &level)) {
    std::cerr << "shadowfs: unknown --log-level '" << log_level << "'\n";
    return 2;
  }
  // The mount builds its own runtime after it forks (the daemon's logger writes to its log).
  if (*mount) return shadowfs::cli::RunMountCommand(mount_options, log_level);
  if (*unmount) return shadowfs::cli::RunUnmountCommand(unmount_options);
  if (*shadow) return shadowfs::cli::RunShadowCommand(shadow_options);
  if (*warmup) return shadowfs::cli::RunWarmupCommand(warmup_options);
  if (*stats) return shadowfs::cli::RunStatsCommand(stats_options);
  if (*status) return shadowfs::cli::RunStatusCommand(status_options);
  if (*predict) return shadowfs::cli::RunPredictCommand(predict, predict_options);

  shadowfs::base::SystemClock clock;
  shadowfs::base::StderrLogger logger(level);
  shadowfs::base::MetricsRegistry metrics;
  shadowfs::base::Runtime runtime{&clock, &logger, &metrics};

  if (*selfcheck) return RunSelfCheckCommand(selfcheck_options, runtime);
  if (*reconcile) return shadowfs::cli::RunReconcileCommand(reconcile_options, runtime);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // mount(8) runs /sbin/mount.shadowfs SPEC DIR [-sfnv] [-o OPTS] for fstab entries of type
  // shadowfs: that is `shadowfs mount SPEC DIR -o OPTS`.
  std::vector<std::string> helper_args;
  std::vector<char*> helper_argv;
  const char* slash = std::strrchr(argv[0], '/');
  if (std::strcmp(slash ? slash + 1 : argv[0], "mount.shadowfs") == 0) {
    helper_args = shadowfs::cli::TranslateMountHelperArgs(argc, argv);
    for (std::string& a : helper_args) helper_argv.push_back(a.data());
    helper_argv.push_back(nullptr);
    argc = static_cast<int>(helper_args.size());
    argv = helper_argv.data();
  }
  // Components report failures as Status; anything thrown is a bug or an allocation failure.
  // Either way the user gets one line, not an abort with a stack trace.
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "shadowfs: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "shadowfs: internal error\n";
  }
  return 70;  // EX_SOFTWARE
}
