#include "cli/parse_size.h"

#include <cctype>

namespace shadowfs::cli {

base::Result<uint64_t> ParseSize(const std::string& text) {
  auto bad = [&] {
    return base::Status::InvalidArgument("bad size '" + text +
                                         "': use bytes or a K, M, G or T suffix");
  };
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  std::string unit = text.substr(digits);
  if (digits == 0 || digits > 15 || unit.size() > 1) return bad();
  uint64_t value = std::stoull(text.substr(0, digits));
  int shift = 0;
  switch (unit.empty() ? 'B' : std::toupper(static_cast<unsigned char>(unit[0]))) {
    case 'B':
      shift = 0;
      break;
    case 'K':
      shift = 10;
      break;
    case 'M':
      shift = 20;
      break;
    case 'G':
      shift = 30;
      break;
    case 'T':
      shift = 40;
      break;
    default:
      return bad();
  }
  if (shift > 0 && value > (UINT64_MAX >> shift)) return bad();
  return value << shift;
}

}  // namespace shadowfs::cli
