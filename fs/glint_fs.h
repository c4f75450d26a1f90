// GlintFs: the FUSE data plane. Active images appear as read-only files:
//
//   by-id/<uuid>              regular file, 0440 (FsOptions), size = image size, data from the store
//   by-name/<name>            symlink to ../by-id/<uuid> (duplicates: see docs/glint-fs.md)
//   by-project/<owner>/<uuid> symlink to ../../by-id/<uuid>
//
// Metadata comes from the API (ImageView, polled conditionally by a TreeRefresher); data
// comes straight from the store (DataSource), never through the REST server when the
// store is reachable. glint_fs.cc holds the FUSE low-level ops and the session lifecycle;
// kernel requests arrive on libfuse's worker threads and reach the MountState (ImageTree,
// InodeTable, OpenFiles behind one shared mutex) through fuse_req_userdata.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "fs/data_source.h"
#include "fs/host_cache.h"
#include "fs/image_view.h"

namespace glint::fs {

struct FsOptions {
  int refresh_seconds = 2;         // how often the API is polled (conditionally)
  double file_timeout = 3600;      // attr/entry cache for by-id files (data is immutable)
  int max_threads = 16;            // FUSE worker threads
  int kernel_readahead_kb = 4096;  // the mount's read_ahead_kb (0: leave the kernel's 128)
  std::vector<std::string> mount_options;  // extra -o options
  // Who may read. A mount is one credential's view of the catalog, so by default only the
  // mounting user gets in: the kernel refuses every other account unless `allow_other`,
  // and then checks these owners and modes (default_permissions).
  bool allow_other = false;
  uid_t uid = ::getuid();  // owner of every file and directory
  gid_t gid = ::getgid();  // group of every file and directory
  mode_t file_mode = 0440;  // image files; directories get x wherever files have r
  double negative_timeout = 1;  // how long the kernel remembers a name that does not exist
  // With a host cache: images it holds whole are read by the kernel from their local file
  // (FUSE passthrough, Linux 6.9+, as root), not through glint-fs.
  bool passthrough = true;
};

// The directory mode that goes with `file_mode`: searchable by whoever may read the files.
mode_t DirModeFor(mode_t file_mode);

// Mounts at `mountpoint` and serves until unmounted or SIGINT/SIGTERM. Returns the exit
// status for main(). `cache`, when given, is also `source` (reads go through it) and
// answers the image files' cache attributes.
int RunGlintFs(const std::string& mountpoint, ImageView& view, DataSource& source,
               const FsOptions& options, HostCache* cache = nullptr);

}  // namespace glint::fs
