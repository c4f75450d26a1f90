// JSON in and out of the API. Request bodies are checked before they are parsed: at most
// kMaxJsonBytes and kMaxJsonDepth levels of nesting (a parsed document is copied and
// destroyed recursively, so depth must be bounded before parsing, not after). Responses
// are rendered without ever throwing on invalid UTF-8 in stored or echoed values.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "control/http_types.h"

namespace glint::control {

inline constexpr size_t kMaxJsonBytes = 1 << 20;
inline constexpr int kMaxJsonDepth = 32;

// The deepest nesting of arrays and objects in `text` (strings skipped); stops counting
// past `limit`.
int JsonNestingDepth(std::string_view text, int limit);
// Parses a request body: TooLarge (413) over kMaxJsonBytes, InvalidArgument (400) when
// malformed or nested deeper than kMaxJsonDepth.
Result<nlohmann::json> ParseJsonBody(std::string_view body);
// json::dump that replaces invalid UTF-8 instead of throwing.
std::string DumpJson(const nlohmann::json& value);
HttpResponse JsonResponse(int status, const nlohmann::json& body, const char* content_type = "application/json");

}  // namespace glint::control
