// Status and Result<T>: the error type returned across Glint's module boundaries.
//
// Every layer (catalog, store, auth, control) reports failures as a Status with a
// domain code and a human-readable message. The HTTP layer maps codes to status codes
// in exactly one place (control/http_errors.cc); the FUSE layer maps them to errno in
// one place. Status is a value type, safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace glint {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,     // malformed input: 400
    kNotFound,            // 404
    kConflict,            // state does not allow the call, or id taken: 409
    kPermissionDenied,    // 403
    kMethodNotAllowed,    // 405
    kUnauthenticated,     // 401
    kTooLarge,            // quota, size cap or a full store: 413
    kUnsupportedMedia,    // 415
    kRangeNotSatisfiable, // 416
    kIOError,             // 500, errno-derived
    kCorruption,          // 500, stored data does not match the catalog
    kUnavailable,         // 503, a dependency is down
    kInternal,            // 500
    kTooManyRequests,     // 429, a rate limit: again after retry_after() seconds
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status MethodNotAllowed(std::string m) { return {Code::kMethodNotAllowed, std::move(m)}; }
  static Status TooLarge(std::string m) { return {Code::kTooLarge, std::move(m)}; }
  static Status UnsupportedMedia(std::string m) { return {Code::kUnsupportedMedia, std::move(m)}; }
  static Status RangeNotSatisfiable(std::string m) {
    return {Code::kRangeNotSatisfiable, std::move(m)};
  }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  // A rate limit refused the call; `retry_after_seconds` (0: unknown) says when it may
  // come again (HTTP: the Retry-After header).
  static Status TooManyRequests(std::string m, int64_t retry_after_seconds = 0) {
    Status s(Code::kTooManyRequests, std::move(m));
    s.retry_after_ = retry_after_seconds > 0 ? retry_after_seconds : 0;
    return s;
  }
  // The one place errno becomes a Status. ENOSPC/EDQUOT/EFBIG become kTooLarge;
  // ETIMEDOUT/ECONNREFUSED/EHOSTUNREACH (a dependency not answering) kUnavailable.
  static Status FromErrno(int err, const std::string& context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // Seconds until a refused call may be made again (kTooManyRequests); 0 when unknown.
  int64_t retry_after() const { return retry_after_; }
  std::string ToString() const;
  // The same error with `context` in front of its message.
  Status Prefixed(const std::string& context) const {
    Status s(code_, context + message_);
    s.retry_after_ = retry_after_;
    return s;
  }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
  int64_t retry_after_ = 0;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status s) : v_(std::move(s)) {}     // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace glint

#define GLINT_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::glint::Status _st = (expr);          \
    if (!_st.ok()) return _st;             \
  } while (0)
