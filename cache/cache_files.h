// The cache directory's file handling, shared by the chunk files (chunk_cache.cc) and the
// whole-image files (image_files.cc): private directories, durable writes (tmp, fsync,
// rename, fsync the directory) and digests of file ranges. Internal to cache/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace glint::cache {

inline constexpr mode_t kDirMode = 0700;
inline constexpr mode_t kFileMode = 0600;

// A directory of the cache: created 0700 if missing; an existing one must be a real
// directory owned by us, and loses any group/other bits.
Status OwnDir(const std::string& path);
// The names in a directory (without . and ..); empty when it cannot be read.
std::vector<std::string> ListDir(const std::string& path);
// 64 lowercase hex digits (a SHA-256).
bool IsHex64(const std::string& s);
// "<index>.<sha256>" -> (index, digest).
std::optional<std::pair<int64_t, std::string>> ParseChunkName(const std::string& name);
Status WriteAll(int fd, const char* data, size_t len);
Status FsyncDir(const std::string& path);
// The SHA-256 of `size` bytes of a file from `offset`, or "" when they cannot be read.
std::string FileSha256(int fd, uint64_t offset, uint64_t size);
// Writes `len` bytes to `tmp`, fsyncs, renames to `path` in `dir` (created 0700) and
// fsyncs `dir`: after a crash the file is whole or absent.
Status WriteDurably(const std::string& tmp, const std::string& dir, const std::string& path, const char* data,
                    size_t len);
// The same without the fsyncs, for files whose name carries their digest and that are
// checked against it before they are trusted after a restart (chunk files): a process
// crash leaves the file whole or absent (the data is in the page cache), a power loss at
// worst a damaged file that check discards; no reader waits for the disk.
Status WriteRenamed(const std::string& tmp, const std::string& dir, const std::string& path, const char* data,
                    size_t len);
// A whole file of at most `max` bytes (no symlink followed); nullopt when it cannot be
// read or is larger.
std::optional<std::string> ReadSmallFile(const std::string& path, size_t max);
// A plain file name (no '/', not hidden, not empty, short).
bool IsPlainName(const std::string& name);

}  // namespace glint::cache
