#include "control/versions_handler.h"

#include "control/json_body.h"
#include "control/schemas.h"

namespace glint::control {

using nlohmann::json;

HttpResponse VersionsHandler::Versions(const HttpRequest& req, int status) const {
  std::string base = api_.BaseUrl(req);
  json versions = json::array();
  // The versions Glance 25 lists: the image cache makes 2.16 current and adds 2.14;
  // multi-store adds 2.8 and 2.10-2.13.
  const bool cache = api_.image_cache != nullptr;
  std::vector<int> minors = cache ? std::vector<int>{16, 15, 14} : std::vector<int>{15};
  if (api_.stores.multi_store()) minors.insert(minors.end(), {13, 12, 11, 10});
  minors.push_back(9);
  if (api_.stores.multi_store()) minors.push_back(8);
  minors.insert(minors.end(), {7, 6, 5, 4, 3, 2, 1, 0});
  for (int minor : minors) {
    versions.push_back({{"id", "v2." + std::to_string(minor)},
                        {"status", minor == (cache ? 16 : 15) ? "CURRENT" : "SUPPORTED"},
                        {"links", {{{"rel", "self"}, {"href", base + "/v2/"}}}}});
  }
  return JsonResponse(status, {{"versions", versions}});
}

HttpResponse VersionsHandler::RedirectToV2(const HttpRequest& req) const {
  HttpResponse r = EmptyResponse(302);
  r.Set("Location", api_.BaseUrl(req) + "/v2/");
  return r;
}

HttpResponse VersionsHandler::Health(bool draining) {
  HttpResponse r;
  if (draining) r.status = 503;
  r.body = draining ? "DRAINING" : "OK";
  r.Set("Content-Type", "text/plain; charset=UTF-8");
  return r;
}

Result<HttpResponse> VersionsHandler::Schema(const Call& call) {
  const std::string* schema = SchemaJson(call.arg);
  if (!schema) return Status::NotFound("No such schema: " + call.arg);
  HttpResponse r;
  r.body = *schema;
  r.Set("Content-Type", "application/json");
  return r;
}

}  // namespace glint::control
