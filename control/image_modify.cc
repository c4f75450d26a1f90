#include "control/image_modify.h"

#include "control/notifications.h"

namespace glint::control {

Result<catalog::ImageRecord> ModifyImage(ApiContext& api, const ImageAccess& access, const auth::RequestContext& ctx,
                                         const std::string& id,
                                         const std::function<Status(catalog::ImageRecord&)>& change) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto img = access.Visible(ctx, id);
    if (!img.ok()) return img;
    catalog::ImageRecord updated = *img;
    GLINT_RETURN_IF_ERROR(change(updated));
    if (static_cast<int>(updated.properties.size()) > api.config.image_property_quota) {
      return Status::TooLarge("Maximum number of properties exceeded (" +
                              std::to_string(api.config.image_property_quota) + ")");
    }
    if (static_cast<int>(updated.tags.size()) > api.config.image_tag_quota) {
      return Status::TooLarge("Maximum number of tags exceeded (" + std::to_string(api.config.image_tag_quota) + ")");
    }
    updated.updated_at = api.Now();
    Status s = api.catalog.UpdateImage(updated);
    if (s.ok()) {
      updated.version++;
      NotifyImage(api, "image.update", updated);
      return updated;
    }
    if (s.code() != Status::Code::kConflict) return s;
  }
  return Status::Conflict("image " + id + " is being changed concurrently; try again");
}

}  // namespace glint::control
