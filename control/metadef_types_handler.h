// MetadefTypesHandler: /v2/metadefs/resource_types (every resource type) and a
// namespace's resource type associations, /v2/metadefs/namespaces/{namespace}/
// resource_types (list, associate) and .../resource_types/{name} (dissociate).
#pragma once

#include "control/api_context.h"
#include "control/metadef_access.h"

namespace glint::control {

class MetadefTypesHandler {
 public:
  explicit MetadefTypesHandler(ApiContext& api) : api_(api), access_(api) {}
  Result<HttpResponse> ListTypes(const Call& call);
  Result<HttpResponse> ListAssociations(const Call& call);
  Result<HttpResponse> Associate(const Call& call);
  Result<HttpResponse> Dissociate(const Call& call);

 private:
  ApiContext& api_;
  MetadefAccess access_;
};

}  // namespace glint::control
