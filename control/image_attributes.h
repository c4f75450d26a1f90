// The image schema's rules for attributes: which keys are base, read-only, reserved or
// sortable, the allowed formats and visibilities, and how one attribute from a create
// body or a JSON patch is validated and applied to an ImageRecord.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "catalog/image_record.h"
#include "common/status.h"

namespace glint::control {

extern const std::set<std::string> kDiskFormats;
extern const std::set<std::string> kContainerFormats;
extern const std::set<std::string> kVisibilities;
extern const std::set<std::string> kDisallowed;  // never settable: direct_url, self, file, ...
extern const std::set<std::string> kReadOnly;    // set by Glint: status, checksum, size, ...
extern const std::set<std::string> kReserved;    // location, deleted, deleted_at
extern const std::set<std::string> kBase;        // the schema's own keys
extern const std::set<std::string> kSortKeys;

// Keys in Glance's reserved os_glance namespace.
bool IsReservedNamespace(const std::string& key);
// Validates `value` for `key` against the image schema and applies it to `img`.
Status SetAttribute(catalog::ImageRecord& img, const std::string& key, const nlohmann::json& value);

}  // namespace glint::control
