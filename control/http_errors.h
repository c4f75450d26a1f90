// The one place a Status becomes an HTTP status code and Glance's JSON error body:
//   {"error": {"code": 404, "title": "Not Found", "message": "..."}}
// (python-glanceclient reads `<key>.message`; a flat {"message": ...} breaks it).
// Messages often echo request input: any byte sequence is rendered safely (invalid UTF-8
// replaced, control characters escaped) and bounded in length, so an error body can
// always be built and never grows with the input. A Status that says when to come back
// (Status::TooManyRequests' retry_after) adds `Retry-After: <seconds>`.
#pragma once

#include "common/status.h"
#include "control/http_types.h"

namespace glint::control {

int HttpStatusFor(const Status& status);
const char* ReasonPhrase(int code);
HttpResponse ErrorResponse(const Status& status);

// Longest message an error body carries; longer ones are cut with "...".
inline constexpr size_t kMaxErrorMessage = 1024;

}  // namespace glint::control
