#include "control/locations_handler.h"

#include <algorithm>
#include <set>

#include "control/format_check.h"
#include "control/image_json.h"
#include "control/json_body.h"
#include "control/location_rules.h"

namespace glint::control {

using catalog::ImageRecord;
using nlohmann::json;

Status LocationsHandler::CheckLocation(const Call& call, const ImageRecord& img, const json& v,
                                       catalog::ImageLocation* out, bool metadata_optional) {
  GLINT_RETURN_IF_ERROR(CheckLocationSchema(v, metadata_optional));
  out->url = v["url"].get<std::string>();
  out->metadata_json = DumpJson(v.value("metadata", json::object()));
  store::Backend* owner = api_.stores.Owner(out->url);
  if (!owner) return Status::InvalidArgument("Invalid location: " + out->url);
  out->store = owner->id();
  if (owner->ReadOnly()) {
    // As Glance: a remote location must pass the outbound filter and answer its size,
    // whatever the image's status.
    auto reader = owner->Open(out->url);
    if (!reader.ok()) return Status::InvalidArgument("Invalid location " + out->url + ": " + reader.status().message());
  }
  bool already = std::any_of(img.locations.begin(), img.locations.end(),
                             [&](const catalog::ImageLocation& l) { return l.url == out->url; });
  // Remote (http) data is no image's own: the outbound filter, not ownership, guards it.
  if (!already && !owner->ReadOnly() && out->url != owner->LocationFor(img.id)) {
    // Without a policy engine the default rule applies: admin or service.
    bool service = std::find(call.ctx.roles.begin(), call.ctx.roles.end(), "service") != call.ctx.roles.end();
    Status may = api_.policy ? access_.Policy("glint:use_foreign_location", call.ctx, access_.Target(call.ctx, img))
                 : (call.ctx.is_admin || service) ? Status::Ok()
                                                  : Status::PermissionDenied("");
    if (!may.ok()) {
      return Status::PermissionDenied("Location " + out->url + " holds data that is not image " + img.id +
                                      "'s own: only the admin and service roles may use it");
    }
  }
  return Status::Ok();
}

// The facts of a queued image that becomes active on data already in a store: its size
// from the store, its hashes from validation_data (Glance without do_secure_hash: none),
// its format checked from the header regions read from the store (refused: 400).
Result<ImageRecord> LocationsHandler::FactsOf(const ImageRecord& img, const catalog::ImageLocation& loc,
                                              const ValidationFacts& v) {
  auto reader = api_.stores.Owner(loc.url)->Open(loc.url);
  if (!reader.ok()) return Status::InvalidArgument("Cannot read location " + loc.url + ": " + reader.status().message());
  auto verdict = InspectStored(**reader, api_.config.image_format, DeclaredOf(img));
  if (!verdict.ok() && verdict.status().code() == Status::Code::kIOError) {  // the location misbehaved, not Glint
    return Status::InvalidArgument("Cannot read location " + loc.url + ": " + verdict.status().message());
  }
  if (!verdict.ok()) return verdict.status();
  ImageRecord facts;
  facts.size = (*reader)->size();
  facts.checksum = v.checksum;
  facts.os_hash_algo = v.os_hash_algo;
  facts.os_hash_value = v.os_hash_value;
  RecordVerdict(*verdict, &facts);
  return facts;
}

Status LocationsHandler::Add(const Call& call, const ImageRecord& img, const json& op) {
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("set_image_location", call.ctx, img));
  catalog::ImageLocation loc;
  GLINT_RETURN_IF_ERROR(CheckLocation(call, img, op.value("value", json()), &loc));
  for (const auto& l : img.locations) {
    if (l.url == loc.url) return Status::InvalidArgument("Duplicate location: " + loc.url);
  }
  if (static_cast<int>(img.locations.size()) >= api_.config.image_location_quota) {
    return Status::TooLarge("Maximum number of locations exceeded (" + std::to_string(api_.config.image_location_quota) + ")");
  }
  auto facts = MergeValidationData(img, {op["value"]});
  if (!facts.ok()) return facts.status();
  std::optional<ImageRecord> activate;
  // Every added location's data is checked, that of an active image's too.
  auto ready = FactsOf(img, loc, *facts);
  if (!ready.ok()) return ready.status();
  if (img.status == catalog::kQueued) activate = *ready;
  return api_.catalog.AddLocation(img.id, loc, activate);
}

Status LocationsHandler::Remove(const Call& call, const ImageRecord& img, const std::string& path) {
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("delete_image_location", call.ctx, img));
  std::string index_text = path.substr(std::string("/locations/").size());
  if (index_text.empty() || index_text.size() > 9 || index_text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("Invalid location index in " + path);
  }
  size_t index = std::stoul(index_text);
  if (index >= img.locations.size()) return Status::InvalidArgument("Invalid location index " + std::to_string(index));
  if (img.locations.size() == 1) return Status::PermissionDenied("Cannot remove last location in the image.");
  return api_.catalog.RemoveLocation(img.id, img.locations[index].url);
}

Status LocationsHandler::Replace(const Call& call, const ImageRecord& img, const json& v) {
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("set_image_location", call.ctx, img));
  if (!v.is_array()) return Status::InvalidArgument("Locations must be a list.");
  if (v.empty()) return Status::PermissionDenied("Cannot set locations to empty list.");
  if (static_cast<int>(v.size()) > api_.config.image_location_quota) {
    return Status::TooLarge("Maximum number of locations exceeded");
  }
  if (img.status != catalog::kActive) return Status::Conflict("Locations of a queued image are added, not replaced.");
  std::vector<catalog::ImageLocation> locs;
  for (const auto& item : v) {
    catalog::ImageLocation loc;
    GLINT_RETURN_IF_ERROR(CheckLocation(call, img, item, &loc));
    locs.push_back(loc);
  }
  auto facts = MergeValidationData(img, std::vector<json>(v.begin(), v.end()));
  if (!facts.ok()) return facts.status();
  // An active image's data stays where it is: a replace may reorder its locations or change
  // their metadata, not swap the data under the image.
  std::set<std::string> now, wanted;
  for (const auto& l : img.locations) now.insert(l.url);
  for (const auto& l : locs) wanted.insert(l.url);
  if (now != wanted) {
    return Status::InvalidArgument("The locations of an active image may be reordered or get new metadata; "
                                   "add and remove locations to change where its data is");
  }
  return api_.catalog.ReplaceLocations(img.id, locs);
}

Result<HttpResponse> LocationsHandler::Patch(const Call& call, const json& ops) {
  if (!api_.config.show_multiple_locations) {
    return Status::PermissionDenied("It's not allowed to update locations if locations are invisible.");
  }
  for (const auto& op : ops) {
    auto img = access_.Visible(call.ctx, call.id);
    if (!img.ok()) return img.status();
    GLINT_RETURN_IF_ERROR(ImageAccess::MayModify(call.ctx, *img));
    std::string kind = op.contains("op") && op["op"].is_string() ? op["op"].get<std::string>() : "";
    std::string path = op["path"].get<std::string>();
    if (img->status != catalog::kQueued && img->status != catalog::kActive) {
      return Status::Conflict("It's not allowed to change locations if image status is " + img->status + ".");
    }
    if (kind == "add" && path.rfind("/locations/", 0) == 0) {
      GLINT_RETURN_IF_ERROR(Add(call, *img, op));
    } else if (kind == "remove" && path.rfind("/locations/", 0) == 0) {
      GLINT_RETURN_IF_ERROR(Remove(call, *img, path));
    } else if (kind == "replace" && path == "/locations") {
      GLINT_RETURN_IF_ERROR(Replace(call, *img, op.value("value", json())));
    } else {
      return Status::InvalidArgument("Invalid JSON pointer for this resource: '" + path + "'");
    }
  }
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  return ImageResponse(200, *img, api_.ImageJson(call.ctx));
}

Result<HttpResponse> LocationsHandler::AddByService(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("add_image_location", call.ctx, *img));
  auto body = ParseJsonBody(call.req.body);
  if (!body.ok()) return body.status();
  catalog::ImageLocation loc;
  GLINT_RETURN_IF_ERROR(CheckLocation(call, *img, *body, &loc, /*metadata_optional=*/true));
  if (img->status != catalog::kQueued) {
    return Status::Conflict("The location of image " + img->id + " can only be set while it is queued, not " +
                            img->status);
  }
  auto facts = MergeValidationData(*img, {*body});
  if (!facts.ok()) return facts.status();
  auto activate = FactsOf(*img, loc, *facts);
  if (!activate.ok()) return activate.status();
  GLINT_RETURN_IF_ERROR(api_.catalog.AddLocation(img->id, loc, *activate));
  return EmptyResponse(202);
}

Result<HttpResponse> LocationsHandler::ListForService(const Call& call) {
  auto img = access_.Visible(call.ctx, call.id);
  if (!img.ok()) return img.status();
  GLINT_RETURN_IF_ERROR(access_.PolicyOn("fetch_image_location", call.ctx, *img));
  json out = json::array();
  for (const auto& l : img->locations) {
    json meta = json::parse(l.metadata_json, nullptr, false);
    out.push_back({{"url", l.url}, {"metadata", meta.is_object() ? meta : json::object()}});
  }
  return JsonResponse(200, out);
}

}  // namespace glint::control
