#include "control/http_errors.h"

#include <nlohmann/json.hpp>

namespace glint::control {

int HttpStatusFor(const Status& s) {
  using C = Status::Code;
  switch (s.code()) {
    case C::kOk: return 200;
    case C::kInvalidArgument: return 400;
    case C::kUnauthenticated: return 401;
    case C::kPermissionDenied: return 403;
    case C::kMethodNotAllowed: return 405;
    case C::kNotFound: return 404;
    case C::kConflict: return 409;
    case C::kTooLarge: return 413;
    case C::kUnsupportedMedia: return 415;
    case C::kRangeNotSatisfiable: return 416;
    case C::kTooManyRequests: return 429;
    case C::kUnavailable: return 503;
    case C::kIOError:
    case C::kCorruption:
    case C::kInternal: return 500;
  }
  return 500;
}

const char* ReasonPhrase(int code) {
  switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

HttpResponse ErrorResponse(const Status& s) {
  HttpResponse r;
  r.status = HttpStatusFor(s);
  std::string message = s.message();
  if (message.size() > kMaxErrorMessage) {
    message.resize(kMaxErrorMessage);
    message += "...";
  }
  nlohmann::json body = {{"error", {{"code", r.status}, {"title", ReasonPhrase(r.status)}, {"message", message}}}};
  // replace: a cut multi-byte character or any invalid UTF-8 becomes U+FFFD, never a throw.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.Set("Content-Type", "application/json");
  if (s.retry_after() > 0) r.Set("Retry-After", std::to_string(s.retry_after()));
  return r;
}

}  // namespace glint::control
