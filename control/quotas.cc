#include "control/quotas.h"

#include "auth/identity.h"
#include "control/identity_api.h"

namespace glint::control {
namespace {

int64_t UsageOf(const catalog::ProjectUsage& u, const std::string& resource) {
  if (resource == "image_count_total") return u.image_count_total;
  if (resource == "image_count_uploading") return u.image_count_uploading;
  if (resource == "image_size_total") return u.image_size_total / (1 << 20);
  if (resource == "image_stage_total") return u.image_stage_total / (1 << 20);
  return 0;
}

auth::IdentityStore* Limits(const ApiContext& api) {
  return api.config.use_keystone_limits && api.identity ? &api.identity->store() : nullptr;
}

}  // namespace

Status Quotas::Check(const auth::RequestContext& ctx, const std::string& resource, int64_t delta,
                     int64_t* headroom) const {
  if (headroom) *headroom = -1;
  auth::IdentityStore* limits = Limits(api_);
  if (!limits || !ctx.project_id) return Status::Ok();
  auto limit = limits->GetLimit(*ctx.project_id, resource);
  if (!limit.ok()) return limit.status();
  if (*limit < 0) return Status::Ok();
  auto usage = api_.catalog.Usage(*ctx.project_id);
  if (!usage.ok()) return usage.status();
  int64_t used = UsageOf(*usage, resource);
  if (headroom && (resource == "image_size_total" || resource == "image_stage_total")) {
    int64_t bytes = resource == "image_size_total" ? usage->image_size_total : usage->image_stage_total;
    *headroom = std::max<int64_t>(0, *limit * (1 << 20) - bytes);
  }
  if (used + delta > *limit) {
    return Status::TooLarge("Resource " + resource + " is over limit of " + std::to_string(*limit) +
                            " due to current usage " + std::to_string(used) + " and delta " + std::to_string(delta));
  }
  return Status::Ok();
}

Result<nlohmann::json> Quotas::Usage(const auth::RequestContext& ctx) const {
  nlohmann::json usage = nlohmann::json::object();
  auth::IdentityStore* limits = Limits(api_);
  if (!limits || !ctx.project_id) return usage;
  auto u = api_.catalog.Usage(*ctx.project_id);
  if (!u.ok()) return u.status();
  for (const char* r : {"image_size_total", "image_stage_total", "image_count_total", "image_count_uploading"}) {
    auto limit = limits->GetLimit(*ctx.project_id, r);
    if (!limit.ok()) return limit.status();
    usage[r] = {{"limit", *limit}, {"usage", UsageOf(*u, r)}};
  }
  return usage;
}

}  // namespace glint::control
