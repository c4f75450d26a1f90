// ImageAccess: who may see and change an image. Visibility (owner, public, community,
// shared with a member), Glance's ownership rule for changes, and the oslo.policy checks
// with Glance's policy targets. Every handler that touches an image asks here.
#pragma once

#include <optional>
#include <string>

#include "auth/authenticator.h"
#include "auth/policy.h"
#include "catalog/image_record.h"
#include "common/status.h"
#include "control/api_context.h"

namespace glint::control {

class ImageAccess {
 public:
  explicit ImageAccess(ApiContext& api) : api_(api) {}

  // Loads an image the caller may see; NotFound otherwise (never reveals existence).
  Result<catalog::ImageRecord> Visible(const auth::RequestContext& ctx, const std::string& id) const;
  // Glance's ownership rule for changes: the owning project or an admin.
  static Status MayModify(const auth::RequestContext& ctx, const catalog::ImageRecord& img);
  // Publicizing and communitizing need their policy rules.
  Status MaySetVisibility(const auth::RequestContext& ctx, const std::string& visibility,
                          const catalog::ImageRecord& img) const;

  // Glance's policy target for an image: project_id/owner are the image's owner;
  // member_id is the caller's project when it is a member of the (shared) image.
  auth::PolicyTarget Target(const auth::RequestContext& ctx, const catalog::ImageRecord& img,
                            const std::optional<std::string>& member = std::nullopt) const;
  Status Policy(const std::string& action, const auth::RequestContext& ctx, const auth::PolicyTarget& t) const;
  Status PolicyOn(const std::string& action, const auth::RequestContext& ctx, const catalog::ImageRecord& img) const;

 private:
  ApiContext& api_;
};

}  // namespace glint::control
