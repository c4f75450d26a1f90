// GlintFs: the FUSE data plane. Active images appear as read-only files:
//
//   by-id/<uuid>              regular file, 0444, size = image size, data from the store
//   by-name/<name>            symlink to ../by-id/<uuid> (duplicates: see docs/glint-fs.md)
//   by-project/<owner>/<uuid> symlink to ../../by-id/<uuid>
//
// Metadata comes from the API (ImageView, polled conditionally by a TreeRefresher); data
// comes straight from the store (DataSource), never through the REST server when the
// store is reachable. glint_fs.cc holds the FUSE low-level ops and the session lifecycle;
// kernel requests arrive on libfuse's worker threads and reach the MountState (ImageTree,
// InodeTable, OpenFiles behind one shared mutex) through fuse_req_userdata.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fs/data_source.h"
#include "fs/image_view.h"

namespace glint::fs {

struct FsOptions {
  int refresh_seconds = 2;         // how often the API is polled (conditionally)
  double file_timeout = 3600;      // attr/entry cache for by-id files (data is immutable)
  int max_threads = 16;            // FUSE worker threads
  int kernel_readahead_kb = 4096;  // the mount's read_ahead_kb (0: leave the kernel's 128)
  std::vector<std::string> mount_options;  // extra -o options
};

// Mounts at `mountpoint` and serves until unmounted or SIGINT/SIGTERM. Returns the exit
// status for main().
int RunGlintFs(const std::string& mountpoint, ImageView& view, DataSource& source,
               const FsOptions& options);

}  // namespace glint::fs
