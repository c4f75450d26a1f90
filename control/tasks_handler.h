// Glance's (deprecated, admin-only by default) task API: GET /v2/tasks with its filters,
// sort and marker paging, and GET /v2/tasks/{id}. Tasks are created by imports and
// copy-image; POST /v2/tasks (the old `import` task type) is not served.
#pragma once

#include "control/api_context.h"
#include "control/image_access.h"

namespace glint::control {

class TasksHandler {
 public:
  explicit TasksHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> List(const Call& call);
  Result<HttpResponse> Show(const Call& call);

 private:
  // tasks_api_access, then `action`; the caller's own project unless admin.
  Status Allowed(const Call& call, const std::string& action) const;
  ApiContext& api_;
  ImageAccess access_;
};

}  // namespace glint::control
