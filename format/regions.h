// Regions: the byte ranges of an image that the format inspector wants to keep, captured
// as the data streams past (CaptureRegion in Glance's inspector). A region is declared
// with an offset and a length; whatever part of it a fed chunk covers is copied, nothing
// else is kept. A region declared after its start already went by can never complete:
// it is marked `missed` (the inspector never makes a second pass). Total capture is
// bounded (kMaxBytes), so hostile headers cannot make the inspector hoard memory.
// Not thread-safe: one inspector, one feeding thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace glint::format {

struct Region {
  int64_t offset = 0;
  size_t length = 0;
  std::string data;  // the captured prefix of the region
  bool missed = false;
  bool complete() const { return data.size() == length; }
};

class Regions {
 public:
  static constexpr size_t kMaxBytes = 512 * 1024;
  // False (and nothing declared) when the name exists or the byte budget is spent.
  // `pos` is how far the stream already is.
  bool Declare(const std::string& name, int64_t offset, size_t length, int64_t pos);
  const Region* Get(const std::string& name) const;
  // Copies the part of [pos, pos+n) that falls into each region.
  void Capture(const char* data, size_t n, int64_t pos);
  // The nearest end (> pos) of an incomplete region: where the stream must pause for the
  // probes to look at what completed, before later bytes pass.
  std::optional<int64_t> NextEnd(int64_t pos) const;
  // The first offset >= pos that an incomplete region still needs, if any.
  std::optional<int64_t> NextWanted(int64_t pos) const;

 private:
  std::map<std::string, Region> regions_;
  size_t bytes_ = 0;
};

// Fixed-width integers at `off` of `s`; 0 when out of range (callers check sizes first).
uint64_t Le(const std::string& s, size_t off, int width);
uint64_t Be(const std::string& s, size_t off, int width);

}  // namespace glint::format
