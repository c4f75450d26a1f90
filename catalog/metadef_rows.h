// Row helpers shared by catalog/metadefs.cc and catalog/metadef_items.cc (internal to
// catalog/).
#pragma once

#include <string>

#include "catalog/metadef_record.h"
#include "common/status.h"
#include "sql/db.h"

namespace glint::catalog {

// The table that holds items of `kind`.
const char* MetadefTable(MetadefKind kind);
// Glance's wording for a missing namespace, item, duplicate item.
Status MetadefNamespaceNotFound(const std::string& name);
Status MetadefItemNotFound(MetadefKind kind, const std::string& ns, const std::string& name);
Status MetadefItemDuplicate(MetadefKind kind, const std::string& ns, const std::string& name);
// Inserts an item; Conflict (Glance's wording) on a duplicate name.
Status InsertMetadefItem(sql::Db& db, const MetadefItem& item);
// Inserts a resource type unless one of that name exists.
Status InsertResourceType(sql::Db& db, const MetadefResourceType& type);

}  // namespace glint::catalog
