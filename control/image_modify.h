// ModifyImage: read-modify-write of an image record with optimistic concurrency (the
// catalog's version column): `change` is applied to a fresh copy, the property and tag
// quotas are checked, and the write retries when another writer (on any node) won.
#pragma once

#include <functional>
#include <string>

#include "catalog/image_record.h"
#include "control/api_context.h"
#include "control/image_access.h"

namespace glint::control {

Result<catalog::ImageRecord> ModifyImage(ApiContext& api, const ImageAccess& access, const auth::RequestContext& ctx,
                                         const std::string& id,
                                         const std::function<Status(catalog::ImageRecord&)>& change);

}  // namespace glint::control
