// ChildProcess: limits, deadline, captured output and start failures with real programs.
#include "common/child_process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "tests/support/test_support.h"

namespace glint {
namespace {

using std::chrono::milliseconds;

TEST(ChildProcess, CapturesStdoutStderrAndExitCode) {
  auto r = RunChild({"sh", "-c", "echo out; echo err >&2; exit 3"}, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value().end, ChildOutcome::End::kExited);
  EXPECT_EQ(r.value().exit_code, 3);
  EXPECT_EQ(r.value().out, "out\n");
  EXPECT_EQ(r.value().err, "err\n");
  EXPECT_FALSE(r.value().Succeeded());
}

TEST(ChildProcess, NoShellInterpretsArguments) {
  auto r = RunChild({"echo", "$HOME;", "`id`", "a b"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().Succeeded());
  EXPECT_EQ(r.value().out, "$HOME; `id` a b\n");
}

TEST(ChildProcess, NonexistentBinaryIsAnError) {
  auto r = RunChild({"/nonexistent/glint-no-such-program", "x"}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("glint-no-such-program"), std::string::npos);
  auto r2 = RunChild({"glint-no-such-program-in-path"}, {});
  EXPECT_FALSE(r2.ok());
  EXPECT_FALSE(RunChild({}, {}).ok());
}

TEST(ChildProcess, WallClockTimeoutKillsTheWholeGroup) {
  ChildLimits limits;
  limits.wall_time = milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  // The grandchild keeps stdout open; it must die with the group, not keep us waiting.
  auto r = RunChild({"sh", "-c", "sleep 30 & sleep 30; echo never"}, limits);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().end, ChildOutcome::End::kTimedOut);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(r.value().out, "");
  EXPECT_NE(r.value().Describe().find("wall-clock"), std::string::npos);
}

TEST(ChildProcess, CpuLimitKillsABusyLoop) {
  ChildLimits limits;
  limits.cpu_seconds = 1;
  limits.wall_time = milliseconds(20000);
  auto r = RunChild({"sh", "-c", "while :; do :; done"}, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().end, ChildOutcome::End::kSignaled);
  EXPECT_TRUE(r.value().signal == SIGXCPU || r.value().signal == SIGKILL) << r.value().signal;
}

TEST(ChildProcess, MemoryLimitStopsABigAllocation) {
  ChildLimits limits;
  limits.address_space = 64ull << 20;
  limits.wall_time = milliseconds(20000);
  // python3 cannot allocate 256 MiB under a 64 MiB address-space limit.
  auto r = RunChild({"python3", "-c", "b = bytearray(256 << 20); print('allocated')"}, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().Succeeded());
  EXPECT_EQ(r.value().out.find("allocated"), std::string::npos);
  ChildLimits roomy;
  roomy.wall_time = milliseconds(20000);
  auto ok = RunChild({"python3", "-c", "b = bytearray(256 << 20); print('allocated')"}, roomy);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value().Succeeded()) << ok.value().err;
}

TEST(ChildProcess, OutputIsBoundedButTheChildIsNotBlocked) {
  ChildLimits limits;
  limits.output_cap = 1000;
  limits.wall_time = milliseconds(20000);
  auto r = RunChild({"head", "-c", "5000000", "/dev/zero"}, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().Succeeded());
  EXPECT_EQ(r.value().out.size(), 1000u);
  EXPECT_TRUE(r.value().out_truncated);
}

TEST(ChildProcess, DiesWithTheProcessThatStartedIt) {
  char dir[] = "/tmp/glint-child-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string pid_file = std::string(dir) + "/pid";
  pid_t server = ::fork();
  ASSERT_GE(server, 0);
  if (server == 0) {  // stands in for glint-api: starts a long child, then is killed
    (void)RunChild({"sh", "-c", "echo $$ > " + pid_file + "; exec sleep 30"}, {});
    ::_exit(0);
  }
  pid_t child = 0;
  for (int i = 0; i < 200 && child <= 0; ++i) {
    ::usleep(20000);
    if (FILE* f = ::fopen(pid_file.c_str(), "r")) {
      if (::fscanf(f, "%d", &child) != 1) child = 0;
      ::fclose(f);
    }
  }
  ASSERT_GT(child, 0);
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 250 && !gone; ++i) {
    ::usleep(20000);
    gone = ::kill(child, 0) != 0;  // reaped by init once killed
  }
  EXPECT_TRUE(gone) << "the child outlived the process that started it";
  ::unlink(pid_file.c_str());
  ::rmdir(dir);
}

TEST(ChildProcess, StdinIsEmpty) {
  auto r = RunChild({"cat"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().Succeeded());
  EXPECT_EQ(r.value().out, "");
}

TEST(ChildProcess, StdoutToAFileUnderItsSizeLimit) {
  glint::testing::TempDir dir;
  const std::string out = dir.path() + "/out";
  ChildLimits limits;
  limits.file_size = 1 << 20;
  limits.wall_time = milliseconds(20000);
  auto small = RunChild({"head", "-c", "1048576", "/dev/zero"}, limits, out);  // exactly the limit
  ASSERT_TRUE(small.ok());
  EXPECT_TRUE(small.value().Succeeded()) << small.value().Describe();
  EXPECT_EQ(small.value().out, "");  // went to the file, not the pipe
  EXPECT_EQ(std::filesystem::file_size(out), 1u << 20);
  // One byte more: the kernel stops the writer (SIGXFSZ), the file never passes the limit.
  auto big = RunChild({"head", "-c", "50000000", "/dev/zero"}, limits, out);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big.value().end, ChildOutcome::End::kSignaled);
  EXPECT_EQ(big.value().signal, SIGXFSZ);
  EXPECT_NE(big.value().Describe().find("output size limit"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(out), 1u << 20);
  // A path that cannot be opened is an error, not an outcome; a symlink is not followed.
  EXPECT_FALSE(RunChild({"true"}, limits, dir.path() + "/no/such/dir/out").ok());
  std::filesystem::create_symlink(dir.path() + "/target", dir.path() + "/link");
  EXPECT_FALSE(RunChild({"true"}, limits, dir.path() + "/link").ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/target"));
}

}  // namespace
}  // namespace glint
