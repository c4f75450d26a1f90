// Glance's JSON-patch dialects for PATCH /v2/images/{id}: the media types
// application/openstack-images-v2.1-json-patch ({"op": "add", "path": "/k", "value": v})
// and -v2.0-json-patch ({"add": "/k", "value": v}), one level of JSON pointer (with ~0 and
// ~1 escapes), and the keys a patch may never touch (read-only, reserved, locations when
// hidden, owner for non-admins).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace glint::control {

enum class PatchDialect { kV20, kV21 };

struct PatchChange {
  std::string op;    // add, remove or replace
  std::string root;  // the decoded attribute name
  nlohmann::json value;
};

// The dialect named by a Content-Type header; UnsupportedMedia (415) for any other.
Result<PatchDialect> PatchDialectOf(std::string_view content_type);
// Parses one operation object of `dialect`. Location paths are handled elsewhere.
Result<PatchChange> ParsePatchChange(const nlohmann::json& op, PatchDialect dialect, bool caller_is_admin);
// True when every operation of a v2.1 document addresses /locations (the locations API).
bool IsLocationsPatch(const nlohmann::json& ops);
// A v2.0 document's operations in v2.1 form ({"add": "/p"} -> {"op": "add", "path": "/p"});
// operations that are not well-formed v2.0 are passed through unchanged.
nlohmann::json NormalizeToV21(const nlohmann::json& ops);

}  // namespace glint::control
