// Records of the metadata definitions catalog (Glance's /v2/metadefs): namespaces and
// what they contain (objects, properties, tags), resource types and which namespaces
// apply to which resource types. Names are the keys: a namespace's name is unique in the
// catalog, an object's, property's or tag's name unique in its namespace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace glint::catalog {

struct MetadefNamespace {
  std::string name;  // Glance's "namespace"
  std::optional<std::string> display_name;
  std::optional<std::string> description;
  std::string visibility = "private";  // public or private
  bool is_protected = false;
  std::optional<std::string> owner;
  int64_t created_at = 0;  // microseconds since the epoch
  int64_t updated_at = 0;
};

// What a namespace contains. `body` is the item's JSON document without its name (an
// object's description/required/properties, a property's schema); empty for tags.
enum class MetadefKind { kObject, kProperty, kTag };

struct MetadefItem {
  MetadefKind kind = MetadefKind::kObject;
  std::string namespace_name;
  std::string name;
  std::string body;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct MetadefResourceType {
  std::string name;
  bool is_protected = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// A namespace applies to a resource type: its properties, when given to that resource,
// carry `prefix`, and `properties_target` names where they go (e.g. "image").
struct MetadefAssociation {
  std::string namespace_name;
  std::string resource_type;
  std::optional<std::string> prefix;
  std::optional<std::string> properties_target;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

}  // namespace glint::catalog
