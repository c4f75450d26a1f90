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
  static HttpResponse Health();
  static Result<HttpResponse> Schema(const Call& call);

 private:
  ApiContext& api_;
};

}  // namespace glint::control
