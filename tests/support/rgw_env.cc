#include "tests/support/rgw_env.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>

namespace shadowfs::testing {

base::Result<RgwEnv> LoadRgwEnv() {
  const char* path = std::getenv("SHADOWFS_RGW_ENV");
  if (path == nullptr || *path == '\0') {
    return base::Status::NotFound(
        "SHADOWFS_RGW_ENV is not set: run S3 tests through ctest (ctest -L s3), which starts "
        "the RGW fixture, or start tests/fixtures/rgw.sh yourself and point SHADOWFS_RGW_ENV at "
        "its env file");
  }
  std::ifstream in(path);
  if (!in) return base::Status::NotFound(std::string("cannot read RGW env file ") + path);
  RgwEnv env;
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq), value = line.substr(eq + 1);
    if (name == "endpoint") env.endpoint = value;
    if (name == "access_key") env.access_key = value;
    if (name == "secret_key") env.secret_key = value;
    if (name == "region") env.region = value;
  }
  if (env.endpoint.empty() || env.access_key.empty() || env.secret_key.empty()) {
    return base::Status::InvalidArgument(std::string("incomplete RGW env file ") + path);
  }
  if (env.region.empty()) env.region = "us-east-1";
  return env;
}

std::string UniqueBucketName(std::string_view hint) {
  static std::atomic<int> counter{0};
  std::string clean;
  for (char c : hint) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      clean += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!clean.empty() && clean.back() != '-') {
      clean += '-';
    }
    if (clean.size() >= 30) break;
  }
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  std::string name = "t-" + clean + "-" + std::to_string(getpid()) + "-" +
                     std::to_string(counter.fetch_add(1)) + "-" + std::to_string(now % 1000000);
  if (name.size() > 63) name.resize(63);
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name;
}

}  // namespace shadowfs::testing
