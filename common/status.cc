#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace glint {

Status Status::FromErrno(int err, const std::string& context) {
  std::string msg = context + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return NotFound(msg);
    case EEXIST:
      return Conflict(msg);
    case EACCES:
    case EPERM:
      return PermissionDenied(msg);
    case ETIMEDOUT:
    case ECONNREFUSED:
    case EHOSTUNREACH:
      return Unavailable(msg);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return TooLarge(msg);
    default:
      return IOError(msg);
  }
}

std::string Status::ToString() const {
  // In the order of Status::Code.
  static const char* kNames[] = {"OK",          "InvalidArgument", "NotFound",
                                 "Conflict",    "PermissionDenied", "MethodNotAllowed",
                                 "Unauthenticated", "TooLarge",    "UnsupportedMedia",
                                 "RangeNotSatisfiable", "IOError", "Corruption",
                                 "Unavailable", "Internal",  "TooManyRequests"};
  static_assert(sizeof kNames / sizeof kNames[0] == static_cast<int>(Code::kTooManyRequests) + 1);
  std::string s = kNames[static_cast<int>(code_)];
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace glint
