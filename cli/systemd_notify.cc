#include "cli/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>

namespace shadowfs::cli {

namespace {

// unset_environment=0: the mount daemon and the reconcile loop notify more than once.
void Notify(const std::string& state) { (void)sd_notify(0, state.c_str()); }

}  // namespace

bool UnderServiceManager() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

void NotifyReady() { Notify("READY=1"); }

void NotifyStatus(const std::string& status) {
  std::string line = status;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  Notify("STATUS=" + line);
}

void NotifyStopping() { Notify("STOPPING=1"); }

void NotifyWatchdog() { Notify("WATCHDOG=1"); }

std::chrono::microseconds WatchdogPingInterval() {
  uint64_t usec = 0;
  // > 0 only if WATCHDOG_USEC is set and WATCHDOG_PID (when set) names this process.
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec / 2);
}

}  // namespace shadowfs::cli
