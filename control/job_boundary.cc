#include "control/job_boundary.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace glint::control {

void LogEscapedException(std::string_view context) noexcept {
  // Logging itself may throw (formatting, a full disk): nothing may leave this function.
  try {
    try {
      throw;
    } catch (const std::exception& e) {
      spdlog::error("{}: unexpected exception: {}", context, e.what());
    } catch (...) {
      spdlog::error("{}: unexpected exception of a non-standard type", context);
    }
  } catch (...) {
  }
}

}  // namespace glint::control
