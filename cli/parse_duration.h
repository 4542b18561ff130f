// Parsing of the durations and times users type for shadow TTLs and schedules ("30s", "7d",
// "2026-11-22T02:00:00Z", "+2h"). Pure functions.
#pragma once

#include <chrono>
#include <string>

#include "blobstore/base/clock.h"
#include "blobstore/base/result.h"

namespace shadowfs::cli {

// "30s", "10m", "2h", "7d": a positive whole number and one unit (s, m, h, d). Up to 100 years.
base::Result<std::chrono::seconds> ParseDuration(const std::string& text);

// An RFC 3339 time ("2026-11-22T02:00:00Z", "2026-11-22T03:00:00+01:00", fractional seconds
// allowed and ignored) or "+DURATION" from `now`.
base::Result<base::WallTime> ParseTime(const std::string& text, base::WallTime now);

// "2026-11-22T02:00:00Z" (UTC, whole seconds): how the CLI prints times.
std::string FormatTime(base::WallTime time);

}  // namespace shadowfs::cli
