#include "control/image_access.h"

#include "common/ids.h"

namespace glint::control {

using catalog::ImageRecord;

auth::PolicyTarget ImageAccess::Target(const auth::RequestContext& ctx, const ImageRecord& img,
                                       const std::optional<std::string>& member) const {
  auth::PolicyTarget t = {{"visibility", img.visibility}};
  if (img.owner) {
    t["project_id"] = *img.owner;
    t["owner"] = *img.owner;
  }
  if (member) {
    t["member_id"] = *member;
  } else if (ctx.project_id && img.visibility == "shared" && api_.catalog.GetMember(img.id, *ctx.project_id).ok()) {
    t["member_id"] = *ctx.project_id;
  }
  return t;
}

Status ImageAccess::Policy(const std::string& action, const auth::RequestContext& ctx,
                           const auth::PolicyTarget& t) const {
  return api_.policy ? api_.policy->Enforce(action, ctx, t) : Status::Ok();
}

Status ImageAccess::PolicyOn(const std::string& action, const auth::RequestContext& ctx,
                             const ImageRecord& img) const {
  return api_.policy ? api_.policy->Enforce(action, ctx, Target(ctx, img)) : Status::Ok();
}

Result<ImageRecord> ImageAccess::Visible(const auth::RequestContext& ctx, const std::string& id) const {
  if (!IsUuid(id)) return Status::NotFound("No image found with ID " + id);
  auto img = api_.catalog.GetImage(id);  // ids are case-sensitive, as in Glance
  if (!img.ok()) return img;
  bool visible = ctx.is_admin || img->visibility == "public" || img->visibility == "community" ||
                 (ctx.project_id && img->owner == ctx.project_id) ||
                 // a member may see a shared image by id whatever its member status
                 (ctx.project_id && img->visibility == "shared" &&
                  api_.catalog.GetMember(img->id, *ctx.project_id).ok());
  // An image the caller may not get is reported as missing, never as forbidden.
  if (!visible || !PolicyOn("get_image", ctx, *img).ok()) {
    return Status::NotFound("No image found with ID " + id);
  }
  return img;
}

Status ImageAccess::MayModify(const auth::RequestContext& ctx, const ImageRecord& img) {
  if (ctx.is_admin || (ctx.project_id && img.owner == ctx.project_id)) return Status::Ok();
  return Status::PermissionDenied("You are not permitted to modify image " + img.id + ".");
}

Status ImageAccess::MaySetVisibility(const auth::RequestContext& ctx, const std::string& visibility,
                                     const ImageRecord& img) const {
  if (visibility == "public") {
    if (api_.policy) return PolicyOn("publicize_image", ctx, img);
    if (!ctx.is_admin) return Status::PermissionDenied("You are not authorized to complete publicize_image action.");
  }
  if (visibility == "community") return PolicyOn("communitize_image", ctx, img);
  return Status::Ok();
}

}  // namespace glint::control
