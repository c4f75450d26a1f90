// FormatInspector: what virtual_size the data's first bytes imply, Glance-style: qcow2
// reads its header, raw is the data size; nullopt when the data does not look like its
// disk_format. (The full streaming inspector of the format-safety issue replaces this.)
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

namespace glint::control {

struct FormatInspector {
  static constexpr size_t kHeadBytes = 512;
  std::optional<std::string> disk_format;
  std::string head;  // first bytes of the data
  void Feed(const char* data, size_t n) {
    if (head.size() < kHeadBytes) head.append(data, std::min(n, kHeadBytes - head.size()));
  }
  std::optional<int64_t> VirtualSize(int64_t data_size) const;
};

}  // namespace glint::control
