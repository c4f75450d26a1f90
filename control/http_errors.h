// The one place a Status becomes an HTTP status code and a JSON error body:
//   {"error": {"code": 404, "title": "Not Found", "message": "..."}}
// (python-glanceclient reads `<key>.message`; a flat {"message": ...} breaks it).
#pragma once

#include "common/status.h"
#include "control/http_types.h"

namespace glint::control {

int HttpStatusFor(const Status& status);
const char* ReasonPhrase(int code);
HttpResponse ErrorResponse(const Status& status);
HttpResponse ErrorResponse(int code, const std::string& message);

}  // namespace glint::control
