#include "control/http_types.h"

#include "store/backend.h"

#include "common/ids.h"

namespace glint::control {

std::string UrlDecode(std::string_view s, bool plus_is_space) { return PercentDecode(s, plus_is_space); }

HttpResponse::HttpResponse() = default;
HttpResponse::~HttpResponse() = default;
HttpResponse::HttpResponse(HttpResponse&&) noexcept = default;
HttpResponse& HttpResponse::operator=(HttpResponse&&) noexcept = default;

std::string UrlEncode(std::string_view s) { return PercentEncode(s); }

void ParseTarget(std::string_view target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* query) {
  size_t q = target.find('?');
  *path = UrlDecode(target.substr(0, q), false);
  query->clear();
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        query->emplace_back(UrlDecode(part, true), "");
      } else {
        query->emplace_back(UrlDecode(part.substr(0, eq), true),
                            UrlDecode(part.substr(eq + 1), true));
      }
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
}

}  // namespace glint::control
