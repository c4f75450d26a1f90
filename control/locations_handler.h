// LocationsHandler: the locations API of show_multiple_locations sites, through JSON
// patch (add /locations/-|N, remove /locations/N, replace /locations). A location must lie
// in a configured store. Only the admin and service roles (policy
// "glint:use_foreign_location") may point an image at data that is not its own: anyone
// else may add only the location of the image's own id (Nova's direct snapshot), so a
// tenant cannot adopt another image's data. Removing a location never deletes data.
#pragma once

#include <nlohmann/json.hpp>

#include "control/api_context.h"
#include "control/image_access.h"
#include "control/location_rules.h"

namespace glint::control {

class LocationsHandler {
 public:
  explicit LocationsHandler(ApiContext& api) : api_(api), access_(api) {}
  // `ops` are v2.1 operations whose paths all start with /locations.
  Result<HttpResponse> Patch(const Call& call, const nlohmann::json& ops);
  // The service-to-service API (image API 2.17, policies add_image_location and
  // fetch_image_location, service role): POST /v2/images/{id}/locations sets the data
  // of a queued image; GET lists the locations.
  Result<HttpResponse> AddByService(const Call& call);
  Result<HttpResponse> ListForService(const Call& call);

 private:
  Status Add(const Call& call, const catalog::ImageRecord& img, const nlohmann::json& op);
  Status Remove(const Call& call, const catalog::ImageRecord& img, const std::string& path);
  Status Replace(const Call& call, const catalog::ImageRecord& img, const nlohmann::json& value);
  // Validates one {"url", "metadata"} and finds its store; refuses foreign data.
  Status CheckLocation(const Call& call, const catalog::ImageRecord& img, const nlohmann::json& v,
                       catalog::ImageLocation* out, bool metadata_optional = false);
  Result<catalog::ImageRecord> FactsOf(const catalog::ImageRecord& img, const catalog::ImageLocation& loc,
                                       const ValidationFacts& facts);
  ApiContext& api_;
  ImageAccess access_;
};

}  // namespace glint::control
