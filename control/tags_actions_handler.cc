#include "control/tags_actions_handler.h"

#include <algorithm>

#include "control/image_modify.h"

namespace glint::control {

using catalog::ImageRecord;

Result<HttpResponse> TagsActionsHandler::Tag(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const bool add = call.req.method == "PUT";
  const std::string& id = call.id;
  const std::string& tag = call.arg;
  if (tag.size() > 255) return Status::InvalidArgument("Tag is too long (max 255 characters).");
  auto updated = ModifyImage(api_, access_, ctx, id, [&](ImageRecord& img) -> Status {
    GLINT_RETURN_IF_ERROR(ImageAccess::MayModify(ctx, img));
    GLINT_RETURN_IF_ERROR(access_.PolicyOn("modify_image", ctx, img));
    auto it = std::lower_bound(img.tags.begin(), img.tags.end(), tag);
    bool present = it != img.tags.end() && *it == tag;
    if (add && !present) img.tags.insert(it, tag);
    if (!add) {
      if (!present) {
        return Status::NotFound("Tag " + tag + " not found.");
      }
      img.tags.erase(it);
    }
    return Status::Ok();
  });
  if (!updated.ok()) return updated.status();
  return EmptyResponse(204);
}

Result<HttpResponse> TagsActionsHandler::Action(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const std::string& id = call.id;
  const std::string& action = call.arg;
  auto img = access_.Visible(ctx, id);
  if (!img.ok()) return img.status();
  if (Status may = ImageAccess::MayModify(ctx, *img); !may.ok()) return may;
  if (Status p = access_.PolicyOn(action, ctx, *img); !p.ok()) return p;
  bool deactivate = action == "deactivate";
  const char* target = deactivate ? catalog::kDeactivated : catalog::kActive;
  const char* from = deactivate ? catalog::kActive : catalog::kDeactivated;
  if (img->status != target) {
    if (img->status != from) {
      return Status::PermissionDenied("Not allowed to " + action + " image in status '" +
                                    img->status + "'");
    }
    Status s = api_.catalog.TransitionStatus(img->id, from, target);
    if (!s.ok()) return s;
  }
  return EmptyResponse(204);
}

}  // namespace glint::control
