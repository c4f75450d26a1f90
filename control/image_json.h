// How Glance shows images, members and tasks in JSON. Image records are written with
// JsonWriter (no document tree: the list path writes thousands of them); custom
// properties become top-level keys; invalid UTF-8 in stored values is passed through as
// stored. Used by every handler that answers with an image.
#pragma once

#include <nlohmann/json.hpp>

#include "auth/property_protections.h"
#include "catalog/catalog.h"
#include "catalog/image_record.h"
#include "control/http_types.h"
#include "control/json_writer.h"

namespace glint::control {

struct ImageJsonOptions {
  bool show_direct_url = false;  // show_image_direct_url
  bool show_locations = false;   // show_multiple_locations
  bool multi_store = false;      // Glance's `stores` key
  // With property protections, the custom properties `reader` may not read are left out.
  const auth::PropertyProtections* protections = nullptr;
  const auth::RequestContext* reader = nullptr;
};

void WriteImage(JsonWriter& w, const catalog::ImageRecord& img, const ImageJsonOptions& options);
HttpResponse ImageResponse(int status, const catalog::ImageRecord& img, const ImageJsonOptions& options);
nlohmann::json MemberJson(const catalog::ImageMember& m);
nlohmann::json TaskJson(const catalog::TaskRecord& t);

}  // namespace glint::control
