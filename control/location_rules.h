// Glance's rules for a location value ({"url", "metadata", "validation_data"}) in the
// locations API: the JSON schema (400 when a value does not match it) and how
// validation_data may set an image's checksum and hashes (409 when it contradicts the
// image or itself, or is not a well-formed md5 / sha512 hex digest).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/image_record.h"
#include "common/status.h"

namespace glint::control {

// The image facts validation_data supplies (only those not already set).
struct ValidationFacts {
  std::optional<std::string> checksum, os_hash_algo, os_hash_value;
  bool empty() const { return !checksum && !os_hash_algo && !os_hash_value; }
};

// InvalidArgument unless `v` matches Glance's location schema (url: string of at most
// 255 characters; metadata: object, required unless `metadata_optional`; validation_data:
// object with only checksum (32 characters), os_hash_algo (at most 64) and os_hash_value
// (at most 128), the last two required).
Status CheckLocationSchema(const nlohmann::json& v, bool metadata_optional = false);
// Merges the validation_data of `locations` against `img` as Glance does: Conflict for
// values that differ between locations or from what the image has, for new values on an
// image that is not queued, and for digests that are not hex of the right size.
Result<ValidationFacts> MergeValidationData(const catalog::ImageRecord& img, const std::vector<nlohmann::json>& locations);

}  // namespace glint::control
