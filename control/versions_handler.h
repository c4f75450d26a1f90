// VersionsHandler: what needs no image: the version list (GET /versions, and the 300 for
// unversioned paths), /v2 -> /v2/, /healthcheck, and the JSON schemas (/v2/schemas/...).
#pragma once

#include <nlohmann/json.hpp>

#include "control/api_context.h"

namespace glint::control {

class VersionsHandler {
 public:
  explicit VersionsHandler(ApiContext& api) : api_(api) {}
  HttpResponse Versions(const HttpRequest& req, int status) const;
  HttpResponse RedirectToV2(const HttpRequest& req) const;
  // 200 "OK"; 503 once the node drains (SIGTERM), as Glance's healthcheck does when disabled.
  static HttpResponse Health(bool draining);
  static Result<HttpResponse> Schema(const Call& call);

 private:
  ApiContext& api_;
};

}  // namespace glint::control
