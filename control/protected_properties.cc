#include "control/protected_properties.h"

#include "control/image_attributes.h"

namespace glint::control {

using auth::PropertyOp;

namespace {

Status Reserved(const std::string& name) { return Status::PermissionDenied("Attribute '" + name + "' is reserved."); }

}  // namespace

Status CheckNewProperties(const auth::PropertyProtections* rules, const auth::RequestContext& ctx,
                          const catalog::ImageRecord& img) {
  if (!rules) return Status::Ok();
  for (const auto& [name, value] : img.properties) {
    if (!rules->Allowed(name, PropertyOp::kCreate, ctx)) return Reserved(name);
  }
  return Status::Ok();
}

Status CheckPropertyChange(const auth::PropertyProtections* rules, const auth::RequestContext& ctx,
                           const catalog::ImageRecord& img, const PatchChange& change) {
  const std::string& name = change.root;
  if (!rules || kBase.count(name)) return Status::Ok();
  bool exists = img.properties.count(name) > 0;
  bool readable = rules->Allowed(name, PropertyOp::kRead, ctx);
  if (change.op == "remove" || change.op == "replace") {
    if (!exists || !readable) return Status::Conflict("Property " + name + " does not exist.");
    PropertyOp op = change.op == "remove" ? PropertyOp::kDelete : PropertyOp::kUpdate;
    return rules->Allowed(name, op, ctx) ? Status::Ok() : Reserved(name);
  }
  // add: an update of a property the caller sees, else a create. Adding over a property
  // they cannot see needs both rights: it must not let them overwrite what they may
  // only create (Glance would).
  if (exists && readable) return rules->Allowed(name, PropertyOp::kUpdate, ctx) ? Status::Ok() : Reserved(name);
  if (!rules->Allowed(name, PropertyOp::kCreate, ctx)) return Reserved(name);
  if (exists && !rules->Allowed(name, PropertyOp::kUpdate, ctx)) return Reserved(name);
  return Status::Ok();
}

}  // namespace glint::control
