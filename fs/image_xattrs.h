// Image metadata as extended attributes: every scalar field of the image record, base and
// custom, is `user.glint.<field>` on the image's by-id file. Pure functions over an
// ImageEntry, called by the getxattr/listxattr ops on libfuse worker threads.
#pragma once

#include <optional>
#include <string>

#include "fs/image_view.h"

namespace glint::fs {

// The value of xattr `name`, or nullopt when the image has no such attribute.
std::optional<std::string> ImageXattr(const ImageEntry& image, const std::string& name);
// Every attribute name, each followed by a NUL, as listxattr(2) returns them.
std::string ImageXattrNames(const ImageEntry& image);

}  // namespace glint::fs
