// Clock: where Glint reads the time, so that code with expiries (tokens, validation
// caches, upload and task locks, the policy reloader) takes the clock as a parameter and
// its tests step a ManualClock instead of sleeping. Production code passes SystemClock().
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace glint {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
};

// The real time (the same as NowMicros() of common/ids.h).
Clock& SystemClock();

// A clock that moves only when told to (tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_micros = 1'700'000'000'000'000) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  void Advance(int64_t micros) { now_ += micros; }
  void AdvanceSeconds(double seconds) { now_ += static_cast<int64_t>(seconds * 1e6); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace glint
