// Per-project quotas, as Glance's unified limits (use_keystone_limits): image_count_total,
// image_count_uploading, image_size_total and image_stage_total (sizes in MiB). Limits
// come from the identity store; only project-scoped callers count against a project.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/authenticator.h"
#include "common/status.h"
#include "control/api_context.h"

namespace glint::control {

class Quotas {
 public:
  explicit Quotas(ApiContext& api) : api_(api) {}
  // TooLarge when usage + delta exceeds the limit; `headroom` gets the bytes left under
  // image_size_total or image_stage_total (or -1 when unlimited).
  Status Check(const auth::RequestContext& ctx, const std::string& resource, int64_t delta,
               int64_t* headroom = nullptr) const;
  // GET /v2/info/usage's "usage" object.
  Result<nlohmann::json> Usage(const auth::RequestContext& ctx) const;

 private:
  ApiContext& api_;
};

}  // namespace glint::control
