// MetadefNamespacesHandler: /v2/metadefs/namespaces (list with visibility, resource_types,
// sort and paging; create with nested objects, properties, tags and associations) and
// /v2/metadefs/namespaces/{namespace} (show, with ?resource_type= prefixing property
// names; update; delete) and the deletion of a namespace's objects, properties or tags.
#pragma once

#include "control/api_context.h"
#include "control/metadef_access.h"

namespace glint::control {

class MetadefNamespacesHandler {
 public:
  explicit MetadefNamespacesHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> List(const Call& call);
  Result<HttpResponse> Create(const Call& call);
  Result<HttpResponse> Show(const Call& call);
  Result<HttpResponse> Update(const Call& call);
  Result<HttpResponse> Delete(const Call& call);
  // DELETE .../objects, .../properties, .../tags: call.arg names which.
  Result<HttpResponse> DeleteContents(const Call& call);

 private:
  // The namespace's fields from a create/update body; InvalidArgument when malformed.
  Result<catalog::MetadefNamespace> FromJson(const nlohmann::json& body, const auth::RequestContext& ctx);
  // A created namespace's events, then those of what it was created with.
  void AnnounceCreate(const catalog::MetadefNamespace& ns, const std::vector<catalog::MetadefItem>& items,
                      const std::vector<catalog::MetadefAssociation>& assoc);
  // The associations, objects, properties and tags that `ns` shows.
  Status AddContents(nlohmann::json& out, const std::string& ns, const std::string& resource_type);

  ApiContext& api_;
  MetadefAccess access_;
};

}  // namespace glint::control
