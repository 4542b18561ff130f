// The sd_notify(3) protocol to systemd's service manager, for services of Type=notify:
// readiness, a status line (`systemctl status`), watchdog keep-alives and stopping. Every call is
// a no-op when the process was not started by systemd (no NOTIFY_SOCKET), so commands call them
// unconditionally. The only file that includes <systemd/sd-daemon.h>.
//
// Thread-safe (sd_notify opens a socket per call and keeps no state).
#pragma once

#include <chrono>
#include <string>

namespace shadowfs::cli {

// True if a service manager listens (NOTIFY_SOCKET is set).
bool UnderServiceManager();

void NotifyReady();
// One line for `systemctl status`; newlines are replaced, since a status is one line.
void NotifyStatus(const std::string& status);
void NotifyStopping();
void NotifyWatchdog();

// How often to send NotifyWatchdog: half of WatchdogSec= (WATCHDOG_USEC), as sd_watchdog_enabled
// recommends; zero if no watchdog is set for this process.
std::chrono::microseconds WatchdogPingInterval();

}  // namespace shadowfs::cli
