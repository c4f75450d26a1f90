// TagsActionsHandler: PUT/DELETE /v2/images/{id}/tags/{tag} and the image actions
// POST /v2/images/{id}/actions/deactivate|reactivate. Worker threads.
#pragma once

#include "control/api_context.h"
#include "control/image_access.h"

namespace glint::control {

class TagsActionsHandler {
 public:
  explicit TagsActionsHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> Tag(const Call& call);
  Result<HttpResponse> Action(const Call& call);

 private:
  ApiContext& api_;
  ImageAccess access_;
};

}  // namespace glint::control
