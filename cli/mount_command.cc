#include "cli/mount_command.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "blobstore/base/unique_fd.h"
#include "cli/mount_daemon.h"
#include "cli/mount_options.h"
#include "fs/fuse_adapter.h"

namespace shadowfs::cli {

namespace {

// systemd-escape style: "/mnt/my data" -> "mnt-my\x20data"; unique per path, one component.
std::string EscapePath(const std::string& path) {
  std::string out;
  size_t start = path.find_first_not_of('/');
  if (start == std::string::npos) return "-";
  for (size_t i = start; i < path.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c == '/') {
      out += '-';
    } else if (std::isalnum(c) || c == '_' || (c == '.' && i != start)) {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string UserDir(const char* xdg_var, const char* home_fallback) {
  if (const char* xdg = std::getenv(xdg_var); xdg && *xdg == '/') return xdg;
  if (const char* home = std::getenv("HOME"); home && *home == '/') {
    return std::string(home) + "/" + home_fallback;
  }
  return "/tmp/shadowfs-" + std::to_string(geteuid());
}

int Fail(const base::Status& status, int code = 1) {
  std::cerr << "shadowfs mount: " << status.message() << "\n";
  return code;
}

// The parent of a daemonizing mount: waits for the child's one message. "ready" means mounted.
int AwaitDaemon(pid_t child, base::UniqueFd from_child, const std::string& log_path) {
  std::string message;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(from_child.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buf, static_cast<size_t>(n));
  }
  if (message == "ready") return 0;
  int status = 0;
  ::waitpid(child, &status, 0);
  if (message.empty()) {
    message = "the mount daemon exited before mounting; see " + log_path;
  }
  std::cerr << "shadowfs mount: " << message << "\n";
  return 1;
}

}  // namespace

std::string DefaultStoreDir(const std::string& primary_url, const std::string& mountpoint) {
  std::string base = geteuid() == 0 ? "/var/lib/shadowfs/stores"
                                    : UserDir("XDG_CACHE_HOME", ".cache") + "/shadowfs/stores";
  std::string url = primary_url;
  for (char& c : url) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_') c = '-';
  }
  return base + "/" + url + "@" + EscapePath(mountpoint);
}

std::string PidFilePath(const std::string& mountpoint) {
  std::string dir;
  if (geteuid() == 0) {
    dir = "/run/shadowfs";
  } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg == '/') {
    dir = std::string(xdg) + "/shadowfs";
  } else {
    dir = "/tmp/shadowfs-" + std::to_string(geteuid());
  }
  return dir + "/" + EscapePath(mountpoint) + ".pid";
}

std::vector<std::string> TranslateMountHelperArgs(int argc, char** argv) {
  std::vector<std::string> out = {"shadowfs", "mount"};
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc) {
      out.push_back("-o");
      out.push_back(argv[++i]);
    } else if (a.starts_with("-o") && a.size() > 2) {
      out.push_back("-o");
      out.push_back(a.substr(2));
    } else if ((a == "-t" || a == "-N") && i + 1 < argc) {
      ++i;  // the type (shadowfs) and mount(8)'s namespace: nothing for us
    } else if (a == "-s" || a == "-f" || a == "-n" || a == "-v") {
      // sloppy, fake, no-mtab, verbose: mount(8)'s business
    } else {
      positional.push_back(a);
    }
  }
  out.insert(out.begin() + 2, positional.begin(), positional.end());
  return out;
}

CLI::App* AddMountCommand(CLI::App& app, MountCommandOptions* o) {
  auto* cmd = app.add_subcommand(
      "mount", "Mount a primary (file:///dir or s3://bucket[/prefix]) at a directory");
  cmd->add_option("primary", o->primary.url, "file:///absolute/dir or s3://bucket[/prefix]")
      ->required();
  cmd->add_option("mountpoint", o->mountpoint, "An existing, empty directory")->required();
  cmd->add_option("--store", o->store_dir,
                  "The shadow store directory (default: one per primary and mount point under "
                  "/var/lib/shadowfs/stores, or ~/.cache/shadowfs/stores)");
  cmd->add_option("--cache-size", o->cache_size, "The store's byte cap (K, M, G, T suffixes)")
      ->capture_default_str();
  cmd->add_option("--min-confidence", o->min_confidence,
                  "Serve a shadow without revalidating only at or above this confidence (0..1)")
      ->capture_default_str();
  cmd->add_option("--compress", o->compress,
                  "Shadows' chunks: auto (raw while the store is under half full, compressed "
                  "above), always or never")
      ->capture_default_str();
  cmd->add_option("--conflict", o->conflict,
                  "When another writer changed a file we upload: lww, copy or fail")
      ->capture_default_str();
  cmd->add_flag("--writeback", o->writeback,
                "close() returns once data is durable locally; the upload follows");
  cmd->add_flag("-f,--foreground", o->foreground, "Stay in the foreground, log to stderr");
  cmd->add_flag("-d,--debug", o->debug, "Trace every FUSE request on stderr (with --foreground)");
  cmd->add_option("--log-level", o->log_level, "debug, info, warning or error");
  cmd->add_option("--metrics-addr", o->metrics_addr,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (loopback only: "
                  "127.0.0.1:PORT or [::1]:PORT)");
  cmd->add_option("--metrics-textfile", o->metrics_textfile,
                  "Write the metrics to this file (node_exporter's textfile collector, *.prom) "
                  "every 15 s and at exit");
  cmd->add_option("--prediction", o->prediction,
                  "on: prefetch what the prediction engine expects to be read; off: it only "
                  "learns and reports what it would have done")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd->add_option("--access-log", o->access_log,
                  "Record every read as a JSON line in FILE (for shadowfs predict train|eval)");
  cmd->add_option("-o", o->o,
                  "Comma-separated options: FUSE's (allow_other, ro, ...), uid=, gid=, umask=, "
                  "and every flag above by its name (cache-size=10G, endpoint=URL, writeback)")
      ->expected(1);
  // Hidden (empty group): for benchmarks of periodic workloads, not for users.
  cmd->add_option("--primary-latency-ms", o->primary_latency_ms,
                  "Milliseconds added to every request to the primary (tests)")
      ->group("");
  cmd->add_option("--time-scale", o->time_scale,
                  "Simulated seconds per real second for the mount's calendar clock")
      ->group("");
  cmd->add_option("--time-anchor", o->time_anchor,
                  "REAL,SIM (Unix seconds): with --time-scale, the calendar reads SIM at REAL")
      ->group("");
  AddPrimaryFlags(cmd, &o->primary);
  return cmd;
}

int RunMountCommand(MountCommandOptions o, const std::string& global_log_level) {
  MountOptionEffects effects;
  if (base::Status s = ApplyMountOptions(&o, &effects); !s.ok()) return Fail(s, 2);
  if (o.log_level.empty()) o.log_level = global_log_level;
  base::LogLevel level;
  if (!base::ParseLogLevel(o.log_level, &level)) {
    return Fail(base::Status::InvalidArgument("unknown log level '" + o.log_level + "'"), 2);
  }
  auto config = MakeDaemonConfig(o, effects, level);
  if (!config.ok()) {
    // A bad mount point is the user's environment, not their syntax: exit 1 like other failures.
    bool usage = config.status().code() == base::StatusCode::kInvalidArgument;
    return Fail(config.status(), usage ? 2 : 1);
  }
  // Checked here too, so the most common mistakes print before anything forks.
  if (base::Status s = fs::CheckMountpoint(config->mountpoint); !s.ok()) return Fail(s);

  // The termination signals are taken by the thread that runs the FUSE loop only: block them
  // now, before any thread exists, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (o.foreground) return RunMountDaemon(*config, base::UniqueFd());

  std::error_code ec;
  std::filesystem::create_directories(config->store_dir, ec);
  if (ec) return Fail(base::Status::IOError("cannot create store " + config->store_dir));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Fail(base::ErrnoStatus(errno, "pipe"));
  base::UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return Fail(base::ErrnoStatus(errno, "fork"));
  if (child > 0) {
    write_end.Reset();
    return AwaitDaemon(child, std::move(read_end), config->store_dir + "/mount.log");
  }
  read_end.Reset();
  ::setsid();
  // A daemon must not keep the directory it was started from busy (every path it uses is
  // absolute: MakeDaemonConfig made them so).
  if (::chdir("/") != 0) _exit(1);
  // The daemon logs to STORE/mount.log; errors before "ready" also go to the parent.
  int log = ::open((config->store_dir + "/mount.log").c_str(),
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::close(null);
  }
  if (log >= 0) {
    ::dup2(log, 2);
    ::close(log);
  }
  _exit(RunMountDaemon(*config, std::move(write_end)));
}

}  // namespace shadowfs::cli
