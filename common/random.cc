#include "common/random.h"

#include <openssl/rand.h>

#include <climits>

namespace glint {
namespace {

class OsRandom final : public Random {
 public:
  Status Fill(unsigned char* out, size_t n) override {
    if (n > static_cast<size_t>(INT_MAX) || RAND_bytes(out, static_cast<int>(n)) != 1) {
      return Status::Internal("no randomness available (RAND_bytes failed)");
    }
    return Status::Ok();
  }
};

}  // namespace

Random& SystemRandom() {
  static OsRandom random;
  return random;
}

}  // namespace glint
