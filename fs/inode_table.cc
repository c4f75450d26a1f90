#include "fs/inode_table.h"

#include <algorithm>

namespace glint::fs {

bool InodeTable::IsFixedDir(Ino ino) {
  return ino == kRootIno || ino == kByIdIno || ino == kByNameIno || ino == kByProjectIno;
}

Ino InodeTable::InoFor(NodeKind kind, const std::string& key) {
  auto [it, inserted] = ino_of_.try_emplace({kind, key}, next_ino_);
  if (inserted) {
    nodes_[next_ino_] = Node{kind, key, 0};
    ++next_ino_;
  }
  return it->second;
}

Ino InodeTable::Find(NodeKind kind, const std::string& key) const {
  auto it = ino_of_.find({kind, key});
  return it == ino_of_.end() ? 0 : it->second;
}

const Node* InodeTable::NodeFor(Ino ino) const {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : &it->second;
}

void InodeTable::AddLookup(Ino ino) {
  auto it = nodes_.find(ino);
  if (it != nodes_.end()) it->second.nlookup++;
}

void InodeTable::Forget(Ino ino, uint64_t nlookup, const std::function<bool(const Node&)>& still_listed) {
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  it->second.nlookup -= std::min(nlookup, it->second.nlookup);
  if (it->second.nlookup == 0 && !still_listed(it->second)) {
    ino_of_.erase({it->second.kind, it->second.key});
    nodes_.erase(it);
  }
}

}  // namespace glint::fs
