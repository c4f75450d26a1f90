#include "common/clock.h"

#include "common/ids.h"

namespace glint {
namespace {

class RealClock final : public Clock {
 public:
  int64_t NowMicros() const override { return glint::NowMicros(); }
};

}  // namespace

Clock& SystemClock() {
  static RealClock clock;
  return clock;
}

}  // namespace glint
