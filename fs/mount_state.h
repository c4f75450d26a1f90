// MountState: what a glint-fs mount shows right now - the image tree of the last listing,
// images looked up by id that the listing leaves out, the inode table and the open files -
// behind one shared mutex, with the questions the FUSE ops ask of it (resolve a name, the
// attributes of an inode, a directory's entries, a link's target, an image's xattrs).
//
// Called from libfuse worker threads (the ops) and the refresh thread (ApplyRefresh).
// Every method takes the lock itself; none blocks on the network.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "fs/data_source.h"
#include "fs/image_tree.h"
#include "fs/image_view.h"
#include "fs/inode_table.h"
#include "fs/open_files.h"

namespace glint::fs {

// What stat shows of every node, and how long the kernel may cache it.
struct NodeAttrs {
  double dir_timeout = 2;     // directories and links: they change with every refresh
  double file_timeout = 3600;  // by-id files: image data never changes
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t file_mode = 0440;
  mode_t dir_mode = 0550;
};

struct DirEntry {
  std::string name;
  Ino ino;
  mode_t type;  // S_IFDIR, S_IFREG or S_IFLNK
};

// Kernel caches to drop after a refresh: (parent, name) entries and inodes.
struct Invalidations {
  std::vector<std::pair<Ino, std::string>> entries;
  std::vector<Ino> inodes;
};

class MountState {
 public:
  MountState(DataSource& source, NodeAttrs attrs);

  // ---- for the FUSE ops ----
  // The child `name` of `parent` in the current tree (allocating its inode), or nullopt.
  std::optional<Ino> Resolve(Ino parent, const std::string& name);
  // Remembers an image the listing leaves out but the API let us look up by id.
  Ino AddLookedUp(ImageEntry image);
  // Attributes of `ino`, or an errno. `count_lookup`: the reply hands the kernel a reference.
  int Stat(Ino ino, struct stat* st, double* timeout, bool count_lookup = false);
  void Forget(Ino ino, uint64_t nlookup);
  // A symlink's target, or "" when `ino` is not a link (any more).
  std::string LinkTarget(Ino ino);
  // The entries of directory `ino` with "." and "..", or an errno.
  int ListDir(Ino ino, std::vector<DirEntry>* entries);
  // Registers an open handle on image file `ino`: its entry and its deleted flag, or an errno.
  int HoldImage(Ino ino, ImageEntry* image, std::shared_ptr<const std::atomic<bool>>* gone);
  void ReleaseImage(const std::string& id);
  // The xattr `name` of image file `ino`.
  std::optional<std::string> Xattr(Ino ino, const std::string& name);
  // The image of image file `ino`, or nullopt.
  std::optional<ImageEntry> ImageFor(Ino ino);
  // listxattr of `ino` (empty for anything but an image file).
  std::string XattrNames(Ino ino);

  // ---- for the refresher ----
  TreeChanges ChangesTo(const ImageTree& fresh);
  std::vector<std::string> LookedUpIds();
  // Installs `fresh`; forgets looked-up images that are `unreadable`; marks `deleted`
  // images' open files; returns what the kernel must forget.
  Invalidations ApplyRefresh(ImageTree fresh, const TreeChanges& changes, const std::set<std::string>& deleted,
                             const std::set<std::string>& unreadable);
  size_t ImageCount();

 private:
  const ImageEntry* Image(const std::string& id) const;  // mu_ held
  const ImageEntry* ImageAt(Ino ino) const;               // mu_ held
  bool StillListed(const Node& node) const;               // mu_ held
  struct stat DirStat(Ino ino) const;
  struct stat FileStat(Ino ino, const ImageEntry& e) const;
  struct stat LinkStat(Ino ino, size_t target_len) const;
  int64_t DataTime(const ImageEntry& e) const;

  DataSource& source_;
  const NodeAttrs attrs_;
  const int64_t started_;

  std::shared_mutex mu_;
  ImageTree tree_;
  std::map<std::string, ImageEntry> looked_up_;  // looked up by id, not listed
  InodeTable inodes_;
  OpenFiles open_;

  mutable std::mutex time_mu_;
  mutable std::map<std::string, int64_t> data_time_;
};

}  // namespace glint::fs
