#include "fs/kernel_readahead.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace glint::fs {

std::string UnescapeMountinfoPath(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 3 < in.size() && std::isdigit(static_cast<unsigned char>(in[i + 1]))) {
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

void RaiseKernelReadahead(const std::string& mountpoint, int kb) {
  if (kb <= 0 || mountpoint.empty()) return;
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  bool found = false;
  while (std::getline(mounts, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    if (UnescapeMountinfoPath(point) != mountpoint) continue;
    found = true;
    std::string sysfs = "/sys/class/bdi/" + dev + "/read_ahead_kb";
    std::ofstream out(sysfs);
    out << std::min(kb, 1 << 20) << "\n";
    out.flush();
    if (!out) {
      spdlog::warn("cannot set {} (kernel read-ahead stays at its default)", sysfs);
    } else {
      spdlog::info("kernel read-ahead {} KiB ({})", kb, sysfs);
    }
  }
  if (!found) spdlog::warn("{} not in /proc/self/mountinfo: kernel read-ahead left as it is", mountpoint);
}

long EnsurePipeMaxSize(long bytes) {
  const char* path = "/proc/sys/fs/pipe-max-size";
  long now = 0;
  {
    std::ifstream in(path);
    in >> now;
  }
  if (now >= bytes) return now;
  std::ofstream out(path);
  out << bytes << "\n";
  out.flush();
  if (!out) {
    spdlog::warn("{} is {} and cannot be raised to {}: reads are copied through glint-fs, not spliced", path, now,
                 bytes);
    return now;
  }
  spdlog::info("{} raised from {} to {} (zero-copy replies of 1 MiB reads)", path, now, bytes);
  return bytes;
}

}  // namespace glint::fs
