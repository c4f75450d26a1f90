#include "common/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace glint {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

Status MakePipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe: ");
  return Status::Ok();
}

// In the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(char* const* argv, const ChildLimits& limits, int out_w, int err_w,
                            int report_w, pid_t parent) {
  ::setpgid(0, 0);
  // The child dies with the server (a killed glint-api leaves no qemu-img running on).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the server died before prctl
  if (limits.cpu_seconds > 0) {
    struct rlimit rl = {limits.cpu_seconds, limits.cpu_seconds + 1};
    ::setrlimit(RLIMIT_CPU, &rl);
  }
  if (limits.address_space > 0) {
    struct rlimit rl = {limits.address_space, limits.address_space};
    ::setrlimit(RLIMIT_AS, &rl);
  }
  if (limits.file_size > 0) {
    struct rlimit rl = {limits.file_size, limits.file_size};
    ::setrlimit(RLIMIT_FSIZE, &rl);
  }
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out_w, 1) < 0 || ::dup2(err_w, 2) < 0) {
    int e = errno;
    (void)!::write(report_w, &e, sizeof e);
    ::_exit(127);
  }
  // Keep the close-on-exec report pipe at fd 3 and close everything else the server holds.
  if (report_w != 3) report_w = ::dup3(report_w, 3, O_CLOEXEC) < 0 ? report_w : 3;
  ::syscall(SYS_close_range, report_w + 1, ~0U, 0);
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGXCPU, SIGXFSZ}) ::sigaction(sig, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execvp(argv[0], argv);
  int e = errno;
  (void)!::write(report_w, &e, sizeof e);
  ::_exit(127);
}

// Reads what is available on `fd` into `into` (up to cap); false at EOF or error.
bool Drain(int fd, std::string& into, bool& truncated, size_t cap) {
  char buf[16384];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  size_t room = into.size() < cap ? cap - into.size() : 0;
  size_t keep = static_cast<size_t>(n) < room ? static_cast<size_t>(n) : room;
  into.append(buf, keep);
  if (keep < static_cast<size_t>(n)) truncated = true;
  return true;
}

bool ChildExited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
  return info.si_pid == pid;
}

// Pumps both pipes until the child exits or the deadline passes; true on timeout.
bool PumpUntilExit(pid_t pid, Fd& out, Fd& err, ChildOutcome& o, const ChildLimits& limits) {
  const bool has_deadline = limits.wall_time.count() > 0;
  const auto deadline = Clock::now() + limits.wall_time;
  while (true) {
    if (ChildExited(pid)) return false;
    if (has_deadline && Clock::now() >= deadline) return true;
    struct pollfd pfds[2];
    int n = 0;
    for (Fd* f : {&out, &err})
      if (f->get() >= 0) pfds[n++] = {f->get(), POLLIN, 0};
    int wait_ms = 50;
    if (n == 0) {
      ::usleep(10 * 1000);
      continue;
    }
    if (::poll(pfds, n, wait_ms) <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if (pfds[i].revents == 0) continue;
      bool is_out = pfds[i].fd == out.get();
      bool open = is_out ? Drain(out.get(), o.out, o.out_truncated, limits.output_cap)
                         : Drain(err.get(), o.err, o.err_truncated, limits.output_cap);
      if (!open) (is_out ? out : err).Reset();
    }
  }
}

// After exit: take what is left in the pipes without blocking on grandchildren.
void DrainRest(Fd& out, Fd& err, ChildOutcome& o, const ChildLimits& limits) {
  for (Fd* f : {&out, &err}) {
    if (f->get() < 0) continue;
    ::fcntl(f->get(), F_SETFL, ::fcntl(f->get(), F_GETFL) | O_NONBLOCK);
    std::string& into = f == &out ? o.out : o.err;
    bool& trunc = f == &out ? o.out_truncated : o.err_truncated;
    for (int i = 0; i < 4096; ++i) {
      struct pollfd p = {f->get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
      if (!Drain(f->get(), into, trunc, limits.output_cap)) break;
    }
    f->Reset();
  }
}

}  // namespace

std::string ChildOutcome::LastErrLine() const {
  std::string s = err;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  auto nl = s.rfind('\n');
  if (nl != std::string::npos) s = s.substr(nl + 1);
  return s.size() > 300 ? s.substr(0, 300) : s;
}

std::string ChildOutcome::Describe() const {
  switch (end) {
    case End::kTimedOut:
      return "killed after exceeding its wall-clock time limit";
    case End::kSignaled:
      if (signal == SIGXFSZ) return "killed after exceeding its output size limit";
      if (signal == SIGXCPU || signal == SIGKILL)
        return std::string("killed by signal ") + ::strsignal(signal) +
               " (CPU-time limit or memory limit)";
      return std::string("killed by signal ") + ::strsignal(signal);
    case End::kExited:
      break;
  }
  return "exited with status " + std::to_string(exit_code);
}

Result<ChildOutcome> RunChild(const std::vector<std::string>& argv, const ChildLimits& limits,
                              const std::string& stdout_path) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("no program to run");
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  int out_p[2] = {-1, -1}, err_p[2], rep_p[2];
  if (stdout_path.empty()) {
    if (auto s = MakePipe(out_p); !s.ok()) return s;
  } else {
    out_p[1] = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out_p[1] < 0) return Status::FromErrno(errno, "open " + stdout_path + ": ");
  }
  Fd out_r(out_p[0]), out_w(out_p[1]);
  if (auto s = MakePipe(err_p); !s.ok()) return s;
  Fd err_r(err_p[0]), err_w(err_p[1]);
  if (auto s = MakePipe(rep_p); !s.ok()) return s;
  Fd rep_r(rep_p[0]), rep_w(rep_p[1]);

  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "fork: ");
  if (pid == 0) ExecChild(cargv.data(), limits, out_w.get(), err_w.get(), rep_w.get(), parent);
  ::setpgid(pid, pid);  // also done in the child; whichever runs first wins the race
  out_w.Reset();
  err_w.Reset();
  rep_w.Reset();
  int exec_errno = 0;
  ssize_t got;
  do got = ::read(rep_r.get(), &exec_errno, sizeof exec_errno);
  while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    ::waitpid(pid, nullptr, 0);
    return Status::FromErrno(exec_errno, "cannot run " + argv[0] + ": ");
  }

  ChildOutcome o;
  bool timed_out = PumpUntilExit(pid, out_r, err_r, o, limits);
  ::kill(-pid, SIGKILL);  // the leader is not reaped yet, so the group id is still ours
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  DrainRest(out_r, err_r, o, limits);
  if (timed_out) {
    o.end = ChildOutcome::End::kTimedOut;
  } else if (WIFEXITED(wstatus)) {
    o.end = ChildOutcome::End::kExited;
    o.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    o.end = ChildOutcome::End::kSignaled;
    o.signal = WTERMSIG(wstatus);
  }
  return o;
}

}  // namespace glint
