// Property protections applied to image writes, with Glance's answers: a custom property
// the caller may not read does not exist for them (replace and remove answer 409 as for a
// missing one); a write they may not make is 403 "Attribute '<name>' is reserved.".
// Reads are filtered where images become JSON (image_json.cc).
#pragma once

#include "auth/property_protections.h"
#include "catalog/image_record.h"
#include "common/status.h"
#include "control/json_patch.h"

namespace glint::control {

// Every custom property of a new image must be creatable by `ctx`.
Status CheckNewProperties(const auth::PropertyProtections* rules, const auth::RequestContext& ctx,
                          const catalog::ImageRecord& img);

// One JSON-patch change to a custom property of `img` (as it is before the change).
Status CheckPropertyChange(const auth::PropertyProtections* rules, const auth::RequestContext& ctx,
                           const catalog::ImageRecord& img, const PatchChange& change);

}  // namespace glint::control
