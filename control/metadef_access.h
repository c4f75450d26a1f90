// MetadefAccess: who may see and change metadata definitions, and their JSON views
// (Glance's glance/api/v2/metadef_*.py). A private namespace is visible to its owner's
// project and to admins only; anyone else gets 404, never 403. Changes need the
// metadef_admin policy rules; a protected namespace's contents cannot be deleted (403).
// Shared by the metadefs handlers (control/metadef_*_handler.cc). Worker threads.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "auth/authenticator.h"
#include "catalog/metadef_record.h"
#include "common/status.h"
#include "control/api_context.h"

namespace glint::control {

class MetadefAccess {
 public:
  explicit MetadefAccess(ApiContext& api) : api_(api) {}

  static bool MaySee(const auth::RequestContext& ctx, const catalog::MetadefNamespace& ns);
  // The namespace if the caller may see it (and policy `action` allows); NotFound otherwise.
  Result<catalog::MetadefNamespace> Visible(const auth::RequestContext& ctx, const std::string& name,
                                            const char* action = "get_metadef_namespace") const;
  // Policy `action` with the namespace as target (project_id: its owner, visibility).
  Status Policy(const char* action, const auth::RequestContext& ctx,
                const catalog::MetadefNamespace& ns) const;
  // Policy `action` with the caller's project as target (listing, creating).
  Status Policy(const char* action, const auth::RequestContext& ctx) const;

 private:
  ApiContext& api_;
};

// Glance's JSON views. Timestamps are ISO 8601 seconds with Z.
nlohmann::json MetadefNamespaceJson(const catalog::MetadefNamespace& ns);
nlohmann::json MetadefObjectJson(const catalog::MetadefItem& item);
// A property's schema with its name (show/create/update) or without (inside a map).
nlohmann::json MetadefPropertyJson(const catalog::MetadefItem& item, bool with_name);
nlohmann::json MetadefTagJson(const catalog::MetadefItem& item);
nlohmann::json MetadefAssociationJson(const catalog::MetadefAssociation& a);

HttpResponse NoContent();

// Checks and converts request bodies into items: InvalidArgument (400) with the reason.
// `ns` is the namespace the item goes to.
Result<catalog::MetadefItem> ObjectFromJson(const nlohmann::json& body, const std::string& ns, int64_t now);
Result<catalog::MetadefItem> PropertyFromJson(const nlohmann::json& body, const std::string& name,
                                              const std::string& ns, int64_t now);
// Glance's limit on a namespace's, object's, property's or tag's name.
Status CheckMetadefName(const nlohmann::json& v, const char* what, size_t max_len);

}  // namespace glint::control
