// OpenFiles: the images that have open file handles. An image that leaves the tree
// (deactivated, hidden, renamed) keeps its entry here while a handle is open, so fstat and
// reads go on working; an image that is deleted gets its handles' `gone` flag set, so their
// reads fail instead of returning data of an image that no longer exists.
//
// Not synchronised: MountState calls it under its lock (open/release on libfuse worker
// threads, MarkDeleted on the refresh thread). OpenFile is one handle's state, owned by
// the kernel's file handle (fuse_file_info::fh) from open to release.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "fs/image_view.h"
#include "store/backend.h"

namespace glint::fs {

struct OpenFile {
  std::unique_ptr<store::Reader> reader;  // null when the kernel reads a cached whole file
  std::shared_ptr<const std::atomic<bool>> gone;  // set when the image is deleted
  std::string image_id;
  uint64_t ino = 0;
  int backing_id = 0;  // > 0: the kernel reads the file's whole local copy (Passthrough)
  int64_t size = 0;
};

class OpenFiles {
 public:
  // One more open handle on `image` (its entry is kept from now on); returns the flag
  // MarkDeleted sets.
  std::shared_ptr<const std::atomic<bool>> Hold(const ImageEntry& image);
  // One handle on `id` closed.
  void Release(const std::string& id);
  // The entry of an image with open handles, or nullptr.
  const ImageEntry* Find(const std::string& id) const;
  // The image was deleted: its open handles must stop serving data.
  void MarkDeleted(const std::string& id);

 private:
  struct Held {
    ImageEntry entry;
    int handles = 0;
    std::shared_ptr<std::atomic<bool>> gone;
  };
  std::map<std::string, Held> held_;
};

}  // namespace glint::fs
