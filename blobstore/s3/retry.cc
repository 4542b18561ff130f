#include "blobstore/s3/retry.h"

#include <algorithm>

namespace shadowfs::s3 {

Backoff::Backoff(const RetryPolicy& policy, base::Clock* clock, uint64_t seed)
    : max_attempts_(std::max(1, policy.max_attempts)),
      base_delay_(std::max(std::chrono::milliseconds(0), policy.base_delay)),
      max_delay_(std::max(policy.base_delay, policy.max_delay)),
      clock_(clock),
      rng_(seed) {}

std::chrono::nanoseconds Backoff::Delay(int retry) {
  // Cap the exponent so the shift cannot overflow; the cap on the delay applies long before.
  const int exponent = std::clamp(retry - 1, 0, 30);
  std::chrono::nanoseconds ceiling = base_delay_ * (int64_t{1} << exponent);
  if (ceiling > max_delay_ || ceiling < base_delay_) ceiling = max_delay_;
  if (ceiling.count() <= 0) return std::chrono::nanoseconds(0);
  base::MutexLock lock(&mu_);
  std::uniform_int_distribution<int64_t> dist(0, ceiling.count());
  return std::chrono::nanoseconds(dist(rng_));
}

bool IsRetryableHttp(long status, std::string_view s3_error_code) {
  if (s3_error_code == "RequestTimeout" || s3_error_code == "SlowDown" ||
      s3_error_code == "InternalError" || s3_error_code == "ServiceUnavailable") {
    return true;
  }
  if (status == 408 || status == 429) return true;
  return status >= 500 && status != 501;
}

}  // namespace shadowfs::s3
