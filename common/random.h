// Random: where Glint takes its randomness (token keys and nonces, the bootstrap admin
// token), so that tests can make it deterministic with a SeededRandom, and so that a
// failure to get randomness is an error, never silently weak bytes. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>

#include "common/status.h"

namespace glint {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with `n` random bytes; Internal when no randomness is available.
  [[nodiscard]] virtual Status Fill(unsigned char* out, size_t n) = 0;
};

// The operating system's randomness through OpenSSL (RAND_bytes).
Random& SystemRandom();

// A fixed sequence from a seed (tests only: it is predictable).
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  Status Fill(unsigned char* out, size_t n) override {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>(engine_() & 0xff);
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

}  // namespace glint
