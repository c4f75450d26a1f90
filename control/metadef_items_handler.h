// MetadefItemsHandler: the objects, properties and tags of a namespace:
// /v2/metadefs/namespaces/{namespace}/{objects|properties|tags} (list; create one, or for
// tags create several, replacing or, with X-Openstack-Append: true, adding) and
// .../{name} (show, update, delete; POST creates one tag). The namespace must be
// visible to the caller (else 404); deleting from a protected namespace is 403.
#pragma once

#include "catalog/metadef_record.h"
#include "control/api_context.h"
#include "control/metadef_access.h"

namespace glint::control {

class MetadefItemsHandler {
 public:
  explicit MetadefItemsHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> List(const Call& call, catalog::MetadefKind kind);
  Result<HttpResponse> Create(const Call& call, catalog::MetadefKind kind);
  Result<HttpResponse> Show(const Call& call, catalog::MetadefKind kind);
  Result<HttpResponse> Update(const Call& call, catalog::MetadefKind kind);
  Result<HttpResponse> Delete(const Call& call, catalog::MetadefKind kind);
  // POST .../tags/{name}
  Result<HttpResponse> CreateTag(const Call& call);

 private:
  Result<HttpResponse> CreateTags(const Call& call, const catalog::MetadefNamespace& ns);
  // An item from a create/update body (tags: `name` is the tag's name).
  Result<catalog::MetadefItem> FromBody(const Call& call, catalog::MetadefKind kind, const std::string& ns);
  nlohmann::json ItemJson(const catalog::MetadefItem& item) const;

  ApiContext& api_;
  MetadefAccess access_;
};

}  // namespace glint::control
