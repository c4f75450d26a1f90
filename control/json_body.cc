#include "control/json_body.h"

namespace glint::control {

int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

Result<nlohmann::json> ParseJsonBody(std::string_view body) {
  if (body.size() > kMaxJsonBytes) {
    return Status::TooLarge("The JSON body of " + std::to_string(body.size()) + " bytes is over the limit of " +
                            std::to_string(kMaxJsonBytes));
  }
  if (JsonNestingDepth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    return Status::InvalidArgument("Malformed JSON in request body: nested deeper than " +
                                   std::to_string(kMaxJsonDepth) + " levels.");
  }
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return Status::InvalidArgument("Malformed JSON in request body.");
  return parsed;
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse JsonResponse(int status, const nlohmann::json& body, const char* content_type) {
  HttpResponse r;
  r.status = status;
  r.body = DumpJson(body);
  r.Set("Content-Type", content_type);
  return r;
}

}  // namespace glint::control
