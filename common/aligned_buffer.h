// AlignedBuffer: 4 KiB-aligned heap memory, so stores can write it with O_DIRECT. Used by
// uploads, imports and copies for their fixed-size chunks.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace glint {

struct AlignedFree {
  void operator()(char* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<char[], AlignedFree>;

// `size` is rounded up to a multiple of 4 KiB, as aligned_alloc requires.
inline AlignedBuffer NewAlignedBuffer(size_t size) {
  size_t rounded = (size + 4095) / 4096 * 4096;
  return AlignedBuffer(static_cast<char*>(std::aligned_alloc(4096, rounded)));
}

}  // namespace glint
