#include "fs/image_xattrs.h"

#include <string_view>

namespace glint::fs {
namespace {
constexpr std::string_view kXattrPrefix = "user.glint.";
}  // namespace

std::optional<std::string> ImageXattr(const ImageEntry& image, const std::string& name) {
  if (name.rfind(kXattrPrefix, 0) != 0) return std::nullopt;
  auto it = image.fields.find(name.substr(kXattrPrefix.size()));
  if (it == image.fields.end()) return std::nullopt;
  return it->second;
}

std::string ImageXattrNames(const ImageEntry& image) {
  std::string list;
  for (const auto& [field, value] : image.fields) {
    list += kXattrPrefix;
    list += field;
    list.push_back('\0');
  }
  return list;
}

}  // namespace glint::fs
