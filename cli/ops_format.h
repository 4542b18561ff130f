// Text output of the operator commands: byte sizes, ratios, times and aligned tables. Pure.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace shadowfs::cli {

// 1536 -> "1.5K", 0 -> "0"; binary multiples like `ls -h`.
std::string HumanBytes(double bytes);
// Compact JSON that never throws: bytes of keys or paths that are not UTF-8 (an object store
// allows any bytes) print as U+FFFD instead of aborting the reply.
std::string DumpJson(const nlohmann::json& value);
// A JSON number, string or null as a short cell ("-" for null).
std::string Cell(const nlohmann::json& value, int precision = 2);
// Rows of cells under a header, columns padded to their widest cell.
void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
// Whether stdout is a terminal (progress bars and redraws only then).
bool StdoutIsTerminal();

}  // namespace shadowfs::cli
