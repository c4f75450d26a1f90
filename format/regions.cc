#include "format/regions.h"

#include <algorithm>

namespace glint::format {

bool Regions::Declare(const std::string& name, int64_t offset, size_t length, int64_t pos) {
  if (regions_.count(name) || offset < 0 || length > kMaxBytes - bytes_) return false;
  Region r;
  r.offset = offset;
  r.length = length;
  r.missed = offset < pos;
  bytes_ += length;
  regions_.emplace(name, std::move(r));
  return true;
}

const Region* Regions::Get(const std::string& name) const {
  auto it = regions_.find(name);
  return it == regions_.end() ? nullptr : &it->second;
}

void Regions::Capture(const char* data, size_t n, int64_t pos) {
  const int64_t end = pos + static_cast<int64_t>(n);
  for (auto& [name, r] : regions_) {
    if (r.missed || r.complete()) continue;
    // Bytes arrive in order, so the next byte the region needs is offset + captured.
    const int64_t want = r.offset + static_cast<int64_t>(r.data.size());
    if (want < pos) {
      r.missed = true;  // a gap in the stream (a skip past the region)
      continue;
    }
    if (want >= end) continue;
    const int64_t take = std::min<int64_t>(end - want, static_cast<int64_t>(r.length - r.data.size()));
    r.data.append(data + (want - pos), static_cast<size_t>(take));
  }
}

std::optional<int64_t> Regions::NextWanted(int64_t pos) const {
  std::optional<int64_t> best;
  for (const auto& [name, r] : regions_) {
    if (r.missed || r.complete()) continue;
    int64_t want = std::max(pos, r.offset + static_cast<int64_t>(r.data.size()));
    if (!best || want < *best) best = want;
  }
  return best;
}

std::optional<int64_t> Regions::NextEnd(int64_t pos) const {
  std::optional<int64_t> best;
  for (const auto& [name, r] : regions_) {
    const int64_t end = r.offset + static_cast<int64_t>(r.length);
    if (r.missed || r.complete() || end <= pos) continue;
    if (!best || end < *best) best = end;
  }
  return best;
}

uint64_t Le(const std::string& s, size_t off, int width) {
  if (off + width > s.size()) return 0;
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}

uint64_t Be(const std::string& s, size_t off, int width) {
  if (off + width > s.size()) return 0;
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}

}  // namespace glint::format
