// InodeTable: the inode numbers glint-fs hands to the kernel and how many references the
// kernel holds on each (lookup replies minus forgets). The four directories every mount
// has get fixed numbers; every other node (an image file, a by-name link, a project
// directory or a link in it) gets a number the first time it is looked up or listed, keeps
// it while the kernel or the tree still knows it, and loses it on the last forget.
//
// Called from libfuse worker threads and the refresh thread, always under MountState's
// lock: the table itself is not synchronised.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

namespace glint::fs {

using Ino = uint64_t;  // fuse_ino_t, without the FUSE headers

constexpr Ino kRootIno = 1;  // FUSE_ROOT_ID
constexpr Ino kByIdIno = 2;
constexpr Ino kByNameIno = 3;
constexpr Ino kByProjectIno = 4;

enum class NodeKind { kDir, kProjectDir, kImage, kNameLink, kProjectLink };

struct Node {
  NodeKind kind;
  std::string key;       // image id, by-name entry, project, or "project/id"
  uint64_t nlookup = 0;  // kernel references (lookup replies minus forgets)
};

class InodeTable {
 public:
  // True for the fixed directories: the root, by-id, by-name and by-project.
  static bool IsFixedDir(Ino ino);

  // The inode of (kind, key), allocated on first use.
  Ino InoFor(NodeKind kind, const std::string& key);
  // The inode of (kind, key) if it has one, else 0.
  Ino Find(NodeKind kind, const std::string& key) const;
  const Node* NodeFor(Ino ino) const;
  // One more kernel reference (a lookup reply carrying `ino`).
  void AddLookup(Ino ino);
  // The kernel dropped `nlookup` references; once none are left and `still_listed` says the
  // tree no longer shows the node, its number is released.
  void Forget(Ino ino, uint64_t nlookup, const std::function<bool(const Node&)>& still_listed);
  size_t size() const { return nodes_.size(); }

 private:
  std::unordered_map<Ino, Node> nodes_;
  std::map<std::pair<NodeKind, std::string>, Ino> ino_of_;
  Ino next_ino_ = 100;
};

}  // namespace glint::fs
