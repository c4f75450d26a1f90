// Identifiers and timestamps shared by every module: UUIDs for images and request ids,
// microsecond UTC timestamps stored in the catalog and rendered the way Glance renders them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace glint {

// A random (version 4) UUID in canonical lowercase form.
std::string NewUuid();
// True for the canonical 8-4-4-4-12 hex form (either case). Image ids must pass this
// before they reach a store path or a query.
bool IsUuid(std::string_view s);
// Lowercases a UUID given in any case; callers validate with IsUuid first.
std::string CanonicalUuid(std::string_view s);

// RFC 3986 percent-encoding of everything but unreserved characters (for URL parts).
std::string PercentEncode(std::string_view s);
// The reverse; malformed escapes stay as they are. `plus_is_space` for query strings.
std::string PercentDecode(std::string_view s, bool plus_is_space = false);

// Microseconds since the Unix epoch, UTC.
int64_t NowMicros();
// "YYYY-MM-DDTHH:MM:SSZ", as Glance's API shows created_at/updated_at.
std::string FormatIsoSeconds(int64_t micros);
// Parses ISO 8601 ("2026-01-02T03:04:05Z", "...05.123456+00:00", "2026-01-02").
std::optional<int64_t> ParseIso(std::string_view s);

}  // namespace glint
