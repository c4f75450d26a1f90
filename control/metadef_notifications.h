// The metadata definitions API's events, as Glance announces them: metadef_namespace.*,
// metadef_object.*, metadef_property.*, metadef_tag.* and metadef_resource_type.* (an
// association of a namespace with a resource type), with Glance's payloads. Like the image
// events (control/notifications.h) every call is a no-op when notifications are off or the
// type is disabled, and never fails or blocks the request that causes it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "catalog/metadef_record.h"
#include "control/api_context.h"

namespace glint::control {

// Glance's payloads. `old_name` fills namespace_old / name_old (the name before an update
// renamed it; the current name otherwise). Objects list their properties with Glance's
// falsy-to-null fields; properties carry their schema's fields and no timestamps.
nlohmann::json MetadefNamespacePayload(const catalog::MetadefNamespace& ns, const std::string& old_name);
nlohmann::json MetadefItemPayload(const catalog::MetadefItem& item, const std::string& old_name);
nlohmann::json MetadefAssociationPayload(const catalog::MetadefAssociation& a);

// metadef_namespace.create / update / delete / delete_objects / delete_properties /
// delete_tags. `event` is the part after "metadef_namespace.".
void NotifyMetadefNamespace(const ApiContext& api, std::string_view event, const catalog::MetadefNamespace& ns,
                            const std::string& old_name = "");
// metadef_object.*, metadef_property.*, metadef_tag.* (by the item's kind): create,
// update or delete.
void NotifyMetadefItem(const ApiContext& api, std::string_view event, const catalog::MetadefItem& item,
                       const std::string& old_name = "");
// metadef_resource_type.create or delete (an association made or removed).
void NotifyMetadefAssociation(const ApiContext& api, std::string_view event, const catalog::MetadefAssociation& a);

}  // namespace glint::control
