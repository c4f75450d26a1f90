#include "control/image_decompression.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include "common/child_process.h"

namespace glint::control {

Compression DetectCompression(std::string_view head) {
  if (head.substr(0, 4) == std::string_view("PK\x03\x04", 4)) return Compression::kZip;
  if (head.size() >= 5 && head.substr(2, 3) == "-lh") return Compression::kLha;
  if (head.substr(0, 3) == std::string_view("\x1f\x8b\x08", 3)) return Compression::kGzip;
  return Compression::kNone;
}

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kZip:
      return "zip";
    case Compression::kLha:
      return "lha";
    case Compression::kGzip:
      return "gzip";
    case Compression::kNone:
      break;
  }
  return "none";
}

int64_t DecompressionCap(const std::string& dest, int64_t cap) {
  std::string dir = dest.substr(0, dest.rfind('/') == std::string::npos ? 0 : dest.rfind('/'));
  struct statvfs fs {};
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) return cap;
  const int64_t size = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
  const int64_t free = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  const int64_t reserve = std::min<int64_t>(size / 50, int64_t{1} << 30);
  return std::max<int64_t>(0, std::min(cap, free - reserve));
}

namespace {

Result<std::string> ReadHead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path + ": ");
  char buf[8];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  int e = errno;
  ::close(fd);
  if (n < 0) return Status::FromErrno(e, "read " + path + ": ");
  return std::string(buf, static_cast<size_t>(n));
}

ChildLimits LimitsOf(const DecompressionConfig& config) {
  ChildLimits limits;
  limits.cpu_seconds = static_cast<uint64_t>(config.cpu_time);
  limits.address_space = static_cast<uint64_t>(config.memory_mib) << 20;
  limits.wall_time = std::chrono::seconds(config.wall_time);
  return limits;
}

std::string Failure(const std::string& tool, const ChildOutcome& run) {
  std::string said = run.LastErrLine();
  return "Image decompression failed: " + tool + " " + run.Describe() + (said.empty() ? "" : ": " + said);
}

// An archive (zip, lha) must hold exactly one file, as Glance requires.
Status CheckOneMember(const DecompressionConfig& config, const std::string& src) {
  auto list = RunChild({config.bsdtar, "-tf", src}, LimitsOf(config));
  if (!list.ok()) return Status::Internal("Image decompression failed: " + list.status().message());
  if (!list->Succeeded()) return Status::InvalidArgument(Failure("bsdtar", *list));
  size_t members = 0;
  std::string name;
  for (size_t start = 0; start < list->out.size();) {
    size_t nl = list->out.find('\n', start);
    if (nl == std::string::npos) nl = list->out.size();
    if (nl > start) {
      ++members;
      name = list->out.substr(start, nl - start);
    }
    start = nl + 1;
  }
  if (list->out_truncated || members != 1) {
    return Status::InvalidArgument("Image decompression failed: Archive contains more than one file.");
  }
  if (name.back() == '/') return Status::InvalidArgument("Image decompression failed: the archive holds a directory");
  return Status::Ok();
}

}  // namespace

Result<Compression> DecompressStaged(const DecompressionConfig& config, const std::string& src,
                                     const std::string& dest, int64_t cap) {
  auto head = ReadHead(src);
  if (!head.ok()) return head.status();
  const Compression found = DetectCompression(*head);
  if (found == Compression::kNone) return found;
  ::unlink(dest.c_str());
  const int64_t bound = DecompressionCap(dest, cap);
  const std::string bounds = " (at most " + std::to_string(bound) +
                             " bytes: image_size_cap, the staging quota and the staging area's free space)";
  if (bound <= 0) return Status::TooLarge("Image decompression failed: no room for the decompressed data" + bounds);
  if (found != Compression::kGzip) GLINT_RETURN_IF_ERROR(CheckOneMember(config, src));
  ChildLimits limits = LimitsOf(config);
  limits.file_size = static_cast<uint64_t>(bound);
  const std::string tool = found == Compression::kGzip ? config.gzip : config.bsdtar;
  std::vector<std::string> argv = found == Compression::kGzip ? std::vector<std::string>{tool, "-dc", "--", src}
                                                               : std::vector<std::string>{tool, "-xOf", src};
  auto run = RunChild(argv, limits, dest);
  if (!run.ok()) {
    ::unlink(dest.c_str());
    return Status::Internal("Image decompression failed: " + run.status().message());
  }
  if (run->Succeeded()) return found;
  ::unlink(dest.c_str());
  if (run->end == ChildOutcome::End::kSignaled && run->signal == SIGXFSZ) {
    return Status::TooLarge("Image decompression failed: the decompressed data is too large" + bounds);
  }
  return Status::Internal(Failure(found == Compression::kGzip ? "gzip" : "bsdtar", *run) + " (limits: CPU time " +
                          std::to_string(config.cpu_time) + " s, memory " + std::to_string(config.memory_mib) +
                          " MiB, wall time " + std::to_string(config.wall_time) + " s)");
}

}  // namespace glint::control
