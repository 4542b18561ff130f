// Dates in paths (`date=2026-11-21/`, `20261121`): found, and replaced by another date. Used by
// the periodic model, which advances a path's date by its period, and by the sibling model, which
// leaves date-named directories to it. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shadowfs::predict {

// A date found in a path: where, in which format, and as days since 1970-01-01.
struct PathDate {
  size_t pos = 0;
  size_t len = 0;  // 10 (YYYY-MM-DD) or 8 (YYYYMMDD)
  int32_t days = 0;
};
std::optional<PathDate> FindPathDate(std::string_view path);
// `path` with its date replaced by the date `days` (same format).
std::string WithPathDate(std::string_view path, const PathDate& date, int32_t days);
// A hash of the directory `dir` with its date (if any) masked: `etl/date=2026-11-21/` and
// `etl/date=2026-11-22/` share it (a job's partitions), `etl/2026-11-21/` has another.
uint64_t DateTemplateTag(std::string_view dir, const std::optional<PathDate>& date);

}  // namespace shadowfs::predict
