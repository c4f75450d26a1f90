// The exception boundary of every job run on the worker pool (and of the work a
// SerialQueue runs in order on it). An exception escaping an asio-posted job would call
// std::terminate and take the whole node down with every request in flight; here it is
// caught, logged (spdlog::error, with the caller's context: usually the request id) and
// reported to the caller, who answers what it can (a 500 if the response has not started).
//
// Callable from any thread.
#pragma once

#include <string_view>

namespace glint::control {

// Logs the exception being handled. Call only from inside a catch block.
void LogEscapedException(std::string_view context) noexcept;

// Runs `job`. True when it returned; false when it threw (the exception is logged with
// `context`, e.g. "req-... GET /v2/images").
template <typename Fn>
bool RunContained(std::string_view context, Fn&& job) noexcept {
  try {
    job();
    return true;
  } catch (...) {
    LogEscapedException(context);
    return false;
  }
}

}  // namespace glint::control
