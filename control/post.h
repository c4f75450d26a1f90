// Post: hands a job to the worker pool (the threads that may block on the catalog and the
// stores). The pool catches anything a job throws, logs it and carries on: no exception
// from a job can end the process.
#pragma once

#include <functional>

namespace glint::control {

using Post = std::function<void(std::function<void()>)>;

}  // namespace glint::control
