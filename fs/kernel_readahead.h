// The kernel reads ahead of a FUSE file only as far as the mount's bdi read_ahead_kb
// (128 KiB by default, and the INIT handshake can only lower it), so a sequential reader
// has one small request in flight at a time. glint-fs raises it once, from the first open
// (the session is up then), by finding the mount's device in /proc/self/mountinfo.
#pragma once

#include <string>

namespace glint::fs {

// Sets /sys/class/bdi/<dev>/read_ahead_kb of the mount at `mountpoint` (a canonical path)
// to `kb` (capped at 1 GiB); logs and carries on when it cannot.
void RaiseKernelReadahead(const std::string& mountpoint, int kb);

// libfuse splices a read's data into /dev/fuse through a per-thread pipe only when that
// pipe can hold the whole reply (a 1 MiB read and its header need a 2 MiB pipe); above
// /proc/sys/fs/pipe-max-size (1 MiB by default) it silently copies the data through a
// userspace buffer instead. Raises pipe-max-size to `bytes` when it is lower and glint-fs
// may (root); logs either way. Returns the value in force afterwards.
long EnsurePipeMaxSize(long bytes);

// mountinfo writes space, tab, newline and backslash in paths as \ooo octal escapes.
std::string UnescapeMountinfoPath(const std::string& escaped);

}  // namespace glint::fs
