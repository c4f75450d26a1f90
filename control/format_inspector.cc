#include "control/format_inspector.h"

namespace glint::control {

std::optional<int64_t> FormatInspector::VirtualSize(int64_t data_size) const {
  if (!disk_format) return std::nullopt;
  if (*disk_format == "raw") return data_size;
  if (*disk_format == "qcow2") {
    if (head.size() < 32 || head.compare(0, 4, "QFI\xfb") != 0) return std::nullopt;
    uint64_t v = 0;
    for (int i = 24; i < 32; ++i) v = (v << 8) | static_cast<unsigned char>(head[i]);
    return static_cast<int64_t>(v);
  }
  return std::nullopt;
}

}  // namespace glint::control
