#include "predict/experts/path_date.h"

#include <cstdio>

#include "predict/experts/expert_util.h"

namespace shadowfs::predict {
namespace {

// Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms).
int32_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}
void CivilFromDays(int32_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yoe) + era * 400 + (*m <= 2);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int Number(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}
std::optional<int32_t> ValidDate(int y, int m, int d) {
  if (y < 1970 || y > 2199 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const int32_t days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  int yy;
  unsigned mm, dd;
  CivilFromDays(days, &yy, &mm, &dd);
  if (yy != y || static_cast<int>(mm) != m || static_cast<int>(dd) != d) return std::nullopt;
  return days;
}

}  // namespace

std::optional<PathDate> FindPathDate(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (!IsDigit(p[i]) || (i > 0 && IsDigit(p[i - 1]))) continue;
    size_t run = i;
    while (run < p.size() && IsDigit(p[run])) ++run;
    if (run - i == 4 && i + 10 <= p.size() && p[i + 4] == '-' && p[i + 7] == '-' &&
        IsDigit(p[i + 5]) && IsDigit(p[i + 6]) && IsDigit(p[i + 8]) && IsDigit(p[i + 9]) &&
        (i + 10 == p.size() || !IsDigit(p[i + 10]))) {
      if (auto days = ValidDate(Number(p.substr(i, 4)), Number(p.substr(i + 5, 2)),
                                Number(p.substr(i + 8, 2)))) {
        return PathDate{i, 10, *days};
      }
    }
    if (run - i == 8) {
      if (auto days = ValidDate(Number(p.substr(i, 4)), Number(p.substr(i + 4, 2)),
                                Number(p.substr(i + 6, 2)))) {
        return PathDate{i, 8, *days};
      }
    }
  }
  return std::nullopt;
}

std::string WithPathDate(std::string_view path, const PathDate& date, int32_t days) {
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[16];
  if (date.len == 10) {
    std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", y, m, d);
  } else {
    std::snprintf(buf, sizeof(buf), "%04d%02u%02u", y, m, d);
  }
  std::string out(path.substr(0, date.pos));
  out.append(buf);
  out.append(path.substr(date.pos + date.len));
  return out;
}

uint64_t DateTemplateTag(std::string_view dir, const std::optional<PathDate>& date) {
  if (!date) return experts::HashBytes(dir, 0x9e71);
  return experts::Mix64(experts::HashBytes(dir.substr(0, date->pos), 0x9e72) ^
                        experts::HashBytes(dir.substr(date->pos + date->len), date->len));
}

}  // namespace shadowfs::predict
