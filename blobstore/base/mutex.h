// Mutex, MutexLock and CondVar with clang thread-safety annotations (GUARDED_BY, REQUIRES, ...),
// checked by the clang build with -Wthread-safety. Thin wrappers over std::mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define SHADOWFS_TSA(x) __attribute__((x))
#else
#define SHADOWFS_TSA(x)
#endif

#define CAPABILITY(x) SHADOWFS_TSA(capability(x))
#define SCOPED_CAPABILITY SHADOWFS_TSA(scoped_lockable)
#define GUARDED_BY(x) SHADOWFS_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) SHADOWFS_TSA(pt_guarded_by(x))
#define ACQUIRED_AFTER(...) SHADOWFS_TSA(acquired_after(__VA_ARGS__))
#define REQUIRES(...) SHADOWFS_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) SHADOWFS_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SHADOWFS_TSA(release_capability(__VA_ARGS__))
#define EXCLUDES(...) SHADOWFS_TSA(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) SHADOWFS_TSA(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS SHADOWFS_TSA(no_thread_safety_analysis)

namespace shadowfs::base {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void AssertHeld() ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable used with a Mutex the caller holds, which is passed to every wait (as in
// absl::CondVar), so clang can check that the caller holds it.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Returns false on timeout.
  bool WaitFor(Mutex* mu, std::chrono::nanoseconds d) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    bool signalled = cv_.wait_for(lock, d) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace shadowfs::base
