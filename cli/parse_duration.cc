#include "cli/parse_duration.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace shadowfs::cli {

namespace {

bool AllDigits(const std::string& s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

int Number(const std::string& s, size_t pos, size_t n) { return std::stoi(s.substr(pos, n)); }

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool LeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

base::Result<std::chrono::seconds> ParseDuration(const std::string& text) {
  auto bad = [&] {
    return base::Status::InvalidArgument("bad duration '" + text +
                                         "': use a number and s, m, h or d (30s, 10m, 2h, 7d)");
  };
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 9 || text.size() != digits + 1) return bad();
  int64_t value = std::stoll(text.substr(0, digits));
  int64_t unit = 0;
  switch (text[digits]) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return bad();
  }
  if (value == 0 || value * unit > int64_t{100} * 366 * 86400) return bad();
  return std::chrono::seconds(value * unit);
}

base::Result<base::WallTime> ParseTime(const std::string& text, base::WallTime now) {
  if (text.starts_with("+")) {
    auto d = ParseDuration(text.substr(1));
    if (!d.ok()) {
      return base::Status::InvalidArgument("bad time '" + text +
                                           "': after '+' use a duration (30s, 10m, 2h, 7d)");
    }
    return now + *d;
  }
  auto bad = [&] {
    return base::Status::InvalidArgument(
        "bad time '" + text + "': use RFC 3339 (2026-11-22T02:00:00Z) or +DURATION (+2h)");
  };
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  const std::string& s = text;
  if (!AllDigits(s, 0, 4) || s.size() < 20 || s[4] != '-' || !AllDigits(s, 5, 2) || s[7] != '-' ||
      !AllDigits(s, 8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !AllDigits(s, 11, 2) || s[13] != ':' || !AllDigits(s, 14, 2) || s[16] != ':' ||
      !AllDigits(s, 17, 2)) {
    return bad();
  }
  int year = Number(s, 0, 4), month = Number(s, 5, 2), day = Number(s, 8, 2);
  int hour = Number(s, 11, 2), minute = Number(s, 14, 2), second = Number(s, 17, 2);
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > kDays[month - 1] + (month == 2 && LeapYear(year) ? 1 : 0) || hour > 23 || minute > 59 ||
      second > 60) {
    return bad();
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start) return bad();
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    if (!AllDigits(s, pos + 1, 2) || pos + 6 > s.size() || s[pos + 3] != ':' ||
        !AllDigits(s, pos + 4, 2)) {
      return bad();
    }
    int oh = Number(s, pos + 1, 2), om = Number(s, pos + 4, 2);
    if (oh > 23 || om > 59) return bad();
    offset = (s[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  int64_t seconds =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + std::min(second, 59) - offset;
  return base::WallTime(std::chrono::seconds(seconds));
}

std::string FormatTime(base::WallTime time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace shadowfs::cli
