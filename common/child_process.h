// ChildProcess: run an external program (qemu-img, a decompressor) under limits.
//
// The program is started directly from an argv vector (execvp, never a shell), in a
// process group of its own, with RLIMIT_CPU and RLIMIT_AS applied in the child before
// exec. A wall-clock deadline kills the whole group (SIGKILL), so a grandchild cannot
// outlive it. stdout and stderr are captured up to a byte bound each (the rest is read
// and dropped so the child never blocks on a full pipe), or stdout goes to a file whose
// size RLIMIT_FSIZE bounds (a decompressor's output). stdin is /dev/null. The child
// gets SIGKILL when the thread that started it dies (PR_SET_PDEATHSIG), so a killed server
// leaves no converter running.
//
// Called from worker threads (import jobs); RunChild blocks the calling thread until the
// child and its group are gone. Thread-safe: it keeps no shared state.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace glint {

struct ChildLimits {
  uint64_t cpu_seconds = 0;      // RLIMIT_CPU; 0 = unlimited
  uint64_t address_space = 0;    // RLIMIT_AS in bytes; 0 = unlimited
  std::chrono::milliseconds wall_time{0};  // 0 = no deadline
  size_t output_cap = 64 * 1024;  // bytes kept of stdout and of stderr each
  uint64_t file_size = 0;        // RLIMIT_FSIZE: no file the child writes may grow past it; 0 = unlimited
};

struct ChildOutcome {
  enum class End {
    kExited,      // exit_code is set
    kSignaled,    // signal is set (SIGXCPU/SIGKILL for a CPU limit, SIGXFSZ for file_size)
    kTimedOut,    // the wall-clock deadline killed the group
  };
  End end = End::kExited;
  int exit_code = -1;
  int signal = 0;
  std::string out;
  std::string err;
  bool out_truncated = false;
  bool err_truncated = false;

  bool Succeeded() const { return end == End::kExited && exit_code == 0; }
  // A one-line account of how the child ended, for task messages.
  std::string Describe() const;
  // The last line the child wrote to stderr (trailing blanks dropped, at most 300
  // characters): what a task message quotes of a failed tool.
  std::string LastErrLine() const;
};

// Runs argv[0] (looked up in PATH if it has no '/'). A program that cannot be started
// (missing binary, not executable) is an error Status, not an outcome; everything the
// program itself does (non-zero exit, signal, timeout) is an outcome. With `stdout_path`,
// the child's stdout is that file (created or truncated, mode 0600) instead of a pipe.
Result<ChildOutcome> RunChild(const std::vector<std::string>& argv, const ChildLimits& limits,
                              const std::string& stdout_path = "");

}  // namespace glint
