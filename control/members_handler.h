// MembersHandler: sharing an image with other projects: list and add members
// (/v2/images/{id}/members), show, remove and accept/reject one (.../members/{member}).
// The owner manages members; a member may change only its own status. Worker threads.
#pragma once

#include "control/api_context.h"
#include "control/image_access.h"

namespace glint::control {

class MembersHandler {
 public:
  explicit MembersHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> List(const Call& call);
  Result<HttpResponse> Add(const Call& call);
  // GET, PUT (status) and DELETE of one member.
  Result<HttpResponse> One(const Call& call);

 private:
  ApiContext& api_;
  ImageAccess access_;
};

}  // namespace glint::control
