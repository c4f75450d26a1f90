// JSON schemas served under /v2/schemas/... . python-glanceclient downloads them on its
// first run and builds its command-line options from the image schema, so their shape
// (property names, types, enums, patterns) follows Glance's API contract. Glint's image
// schema omits `stores` (see docs/api-differences.md).
#pragma once

#include <string>

namespace glint::control {

// The schema named like the path below /v2/schemas/ ("image", "metadefs/namespace"), or
// nullptr. Built once; safe to call from any thread.
const std::string* SchemaJson(const std::string& name);

}  // namespace glint::control
