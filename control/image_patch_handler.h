// ImagePatchHandler: PATCH /v2/images/{id} in both of Glance's JSON-patch dialects.
// Attribute changes go through ModifyImage; a document that only addresses /locations is
// the locations API (LocationsHandler). Runs on worker threads.
#pragma once

#include "control/api_context.h"
#include "control/image_access.h"
#include "control/locations_handler.h"

namespace glint::control {

class ImagePatchHandler {
 public:
  explicit ImagePatchHandler(ApiContext& api) : api_(api), access_(api), locations_(api) {}
  Result<HttpResponse> Patch(const Call& call);

 private:
  ApiContext& api_;
  ImageAccess access_;
  LocationsHandler locations_;
};

}  // namespace glint::control
