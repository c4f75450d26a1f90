#include "fs/mount_state.h"

#include <cerrno>

#include "common/ids.h"
#include "fs/image_xattrs.h"

namespace glint::fs {
namespace {
const std::string kByIdFromName = "../by-id/";
const std::string kByIdFromProject = "../../by-id/";
constexpr size_t kUuidLength = 36;
}  // namespace

MountState::MountState(DataSource& source, NodeAttrs attrs)
    : source_(source), attrs_(attrs), started_(NowMicros() / 1000000) {}

std::optional<Ino> MountState::Resolve(Ino parent, const std::string& name) {
  std::unique_lock<std::shared_mutex> l(mu_);
  if (parent == kRootIno) {
    if (name == "by-id") return kByIdIno;
    if (name == "by-name") return kByNameIno;
    if (name == "by-project") return kByProjectIno;
    return std::nullopt;
  }
  if (parent == kByIdIno) {
    if (tree_.images.count(name) || looked_up_.count(name)) return inodes_.InoFor(NodeKind::kImage, name);
    return std::nullopt;
  }
  if (parent == kByNameIno) {
    if (tree_.names.count(name)) return inodes_.InoFor(NodeKind::kNameLink, name);
    return std::nullopt;
  }
  if (parent == kByProjectIno) {
    if (tree_.projects.count(name)) return inodes_.InoFor(NodeKind::kProjectDir, name);
    return std::nullopt;
  }
  const Node* n = inodes_.NodeFor(parent);
  if (n && n->kind == NodeKind::kProjectDir) {
    auto it = tree_.projects.find(n->key);
    if (it != tree_.projects.end() && it->second.count(name)) {
      return inodes_.InoFor(NodeKind::kProjectLink, n->key + "/" + name);
    }
  }
  return std::nullopt;
}

Ino MountState::AddLookedUp(ImageEntry image) {
  std::unique_lock<std::shared_mutex> l(mu_);
  std::string id = image.id;
  looked_up_[id] = std::move(image);
  return inodes_.InoFor(NodeKind::kImage, id);
}

const ImageEntry* MountState::Image(const std::string& id) const {
  auto it = tree_.images.find(id);
  if (it != tree_.images.end()) return &it->second;
  auto ex = looked_up_.find(id);
  if (ex != looked_up_.end()) return &ex->second;
  // Gone from the tree but still open somewhere: fstat and reads keep working.
  return open_.Find(id);
}

const ImageEntry* MountState::ImageAt(Ino ino) const {
  const Node* n = inodes_.NodeFor(ino);
  return n && n->kind == NodeKind::kImage ? Image(n->key) : nullptr;
}

struct stat MountState::DirStat(Ino ino) const {
  struct stat st = {};
  st.st_ino = ino;
  st.st_mode = S_IFDIR | attrs_.dir_mode;
  st.st_uid = attrs_.uid;
  st.st_gid = attrs_.gid;
  st.st_nlink = 2;
  st.st_mtim.tv_sec = static_cast<time_t>(started_);
  return st;
}

struct stat MountState::FileStat(Ino ino, const ImageEntry& e) const {
  struct stat st = {};
  st.st_ino = ino;
  st.st_mode = S_IFREG | attrs_.file_mode;
  st.st_uid = attrs_.uid;
  st.st_gid = attrs_.gid;
  st.st_nlink = 1;
  st.st_size = e.size;
  st.st_blocks = (e.size + 511) / 512;
  st.st_blksize = 1 << 20;
  int64_t t = DataTime(e);
  st.st_mtim.tv_sec = st.st_ctim.tv_sec = st.st_atim.tv_sec = static_cast<time_t>(t);
  return st;
}

struct stat MountState::LinkStat(Ino ino, size_t target_len) const {
  struct stat st = {};
  st.st_ino = ino;
  st.st_mode = S_IFLNK | 0777;  // a link's own mode is never checked: its target's is
  st.st_uid = attrs_.uid;
  st.st_gid = attrs_.gid;
  st.st_nlink = 1;
  st.st_size = static_cast<off_t>(target_len);
  st.st_mtim.tv_sec = static_cast<time_t>(started_);
  return st;
}

// When the image became active: the store's write time, else its last update.
int64_t MountState::DataTime(const ImageEntry& e) const {
  std::lock_guard<std::mutex> l(time_mu_);
  auto it = data_time_.find(e.id);
  if (it != data_time_.end()) return it->second;
  int64_t t = source_.DataTime(e).value_or(e.updated_at / 1000000);
  data_time_[e.id] = t;
  return t;
}

int MountState::Stat(Ino ino, struct stat* st, double* timeout, bool count_lookup) {
  std::unique_lock<std::shared_mutex> exclusive(mu_, std::defer_lock);
  std::shared_lock<std::shared_mutex> shared(mu_, std::defer_lock);
  if (count_lookup) {
    exclusive.lock();
  } else {
    shared.lock();
  }
  *timeout = attrs_.dir_timeout;
  int err = 0;
  const Node* n = InodeTable::IsFixedDir(ino) ? nullptr : inodes_.NodeFor(ino);
  if (InodeTable::IsFixedDir(ino) || (n && n->kind == NodeKind::kProjectDir)) {
    *st = DirStat(ino);
  } else if (!n) {
    err = ENOENT;
  } else if (n->kind == NodeKind::kImage) {
    const ImageEntry* e = Image(n->key);
    if (e) {
      *st = FileStat(ino, *e);
      *timeout = attrs_.file_timeout;
    } else {
      err = ENOENT;
    }
  } else if (n->kind == NodeKind::kNameLink) {
    auto it = tree_.names.find(n->key);
    if (it != tree_.names.end()) {
      *st = LinkStat(ino, kByIdFromName.size() + it->second.size());
    } else {
      err = ENOENT;
    }
  } else if (n->kind == NodeKind::kProjectLink) {
    *st = LinkStat(ino, kByIdFromProject.size() + kUuidLength);
  } else {
    err = ENOENT;
  }
  if (!err && count_lookup) inodes_.AddLookup(ino);
  return err;
}

bool MountState::StillListed(const Node& n) const {
  switch (n.kind) {
    case NodeKind::kImage: return tree_.images.count(n.key) || looked_up_.count(n.key);
    case NodeKind::kNameLink: return tree_.names.count(n.key) > 0;
    case NodeKind::kProjectDir: return tree_.projects.count(n.key) > 0;
    default: return false;
  }
}

void MountState::Forget(Ino ino, uint64_t nlookup) {
  std::unique_lock<std::shared_mutex> l(mu_);
  inodes_.Forget(ino, nlookup, [this](const Node& n) { return StillListed(n); });
}

std::string MountState::LinkTarget(Ino ino) {
  std::shared_lock<std::shared_mutex> l(mu_);
  const Node* n = inodes_.NodeFor(ino);
  if (n && n->kind == NodeKind::kNameLink) {
    auto it = tree_.names.find(n->key);
    if (it != tree_.names.end()) return kByIdFromName + it->second;
  } else if (n && n->kind == NodeKind::kProjectLink) {
    return kByIdFromProject + n->key.substr(n->key.rfind('/') + 1);
  }
  return "";
}

int MountState::ListDir(Ino ino, std::vector<DirEntry>* out) {
  std::unique_lock<std::shared_mutex> l(mu_);
  out->push_back({".", ino, S_IFDIR});
  out->push_back({"..", kRootIno, S_IFDIR});
  if (ino == kRootIno) {
    out->push_back({"by-id", kByIdIno, S_IFDIR});
    out->push_back({"by-name", kByNameIno, S_IFDIR});
    out->push_back({"by-project", kByProjectIno, S_IFDIR});
  } else if (ino == kByIdIno) {
    for (const auto& [id, e] : tree_.images) out->push_back({id, inodes_.InoFor(NodeKind::kImage, id), S_IFREG});
  } else if (ino == kByNameIno) {
    for (const auto& [name, id] : tree_.names) {
      out->push_back({name, inodes_.InoFor(NodeKind::kNameLink, name), S_IFLNK});
    }
  } else if (ino == kByProjectIno) {
    for (const auto& [p, ids] : tree_.projects) {
      out->push_back({p, inodes_.InoFor(NodeKind::kProjectDir, p), S_IFDIR});
    }
  } else {
    const Node* n = inodes_.NodeFor(ino);
    if (!n || n->kind != NodeKind::kProjectDir) return n ? ENOTDIR : ENOENT;
    std::string project = n->key;
    auto it = tree_.projects.find(project);
    if (it == tree_.projects.end()) return 0;
    for (const auto& id : it->second) {
      out->push_back({id, inodes_.InoFor(NodeKind::kProjectLink, project + "/" + id), S_IFLNK});
    }
  }
  return 0;
}

int MountState::HoldImage(Ino ino, ImageEntry* image, std::shared_ptr<const std::atomic<bool>>* gone) {
  std::unique_lock<std::shared_mutex> l(mu_);
  const ImageEntry* e = ImageAt(ino);
  if (!e) return inodes_.NodeFor(ino) || InodeTable::IsFixedDir(ino) ? EISDIR : ENOENT;
  *image = *e;
  *gone = open_.Hold(*image);
  return 0;
}

void MountState::ReleaseImage(const std::string& id) {
  std::unique_lock<std::shared_mutex> l(mu_);
  open_.Release(id);
}

std::optional<std::string> MountState::Xattr(Ino ino, const std::string& name) {
  std::shared_lock<std::shared_mutex> l(mu_);
  const ImageEntry* e = ImageAt(ino);
  return e ? ImageXattr(*e, name) : std::nullopt;
}

std::optional<ImageEntry> MountState::ImageFor(Ino ino) {
  std::shared_lock<std::shared_mutex> l(mu_);
  const ImageEntry* e = ImageAt(ino);
  return e ? std::optional<ImageEntry>(*e) : std::nullopt;
}

std::string MountState::XattrNames(Ino ino) {
  std::shared_lock<std::shared_mutex> l(mu_);
  const ImageEntry* e = ImageAt(ino);
  return e ? ImageXattrNames(*e) : std::string();
}

TreeChanges MountState::ChangesTo(const ImageTree& fresh) {
  std::shared_lock<std::shared_mutex> l(mu_);
  return DiffImageTrees(tree_, fresh);
}

std::vector<std::string> MountState::LookedUpIds() {
  std::shared_lock<std::shared_mutex> l(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, e] : looked_up_) ids.push_back(id);
  return ids;
}

Invalidations MountState::ApplyRefresh(ImageTree fresh, const TreeChanges& changes,
                                       const std::set<std::string>& deleted,
                                       const std::set<std::string>& unreadable) {
  Invalidations inval;
  std::unique_lock<std::shared_mutex> l(mu_);
  tree_ = std::move(fresh);
  for (const auto& id : unreadable) looked_up_.erase(id);
  for (const auto& [id, e] : tree_.images) looked_up_.erase(id);
  for (const auto& id : deleted) open_.MarkDeleted(id);
  auto drop_image = [&](const std::string& id) {
    inval.entries.emplace_back(kByIdIno, id);
    if (Ino ino = inodes_.Find(NodeKind::kImage, id)) inval.inodes.push_back(ino);
  };
  for (const auto& id : changes.dropped_ids) {
    if (!looked_up_.count(id)) drop_image(id);
  }
  for (const auto& id : unreadable) drop_image(id);
  for (const auto& name : changes.stale_names) inval.entries.emplace_back(kByNameIno, name);
  for (const auto& [project, id] : changes.stale_links) {
    if (Ino dir = inodes_.Find(NodeKind::kProjectDir, project)) inval.entries.emplace_back(dir, id);
  }
  // New names the kernel may still hold a negative entry for.
  for (const auto& id : changes.added_ids) inval.entries.emplace_back(kByIdIno, id);
  for (const auto& name : changes.added_names) inval.entries.emplace_back(kByNameIno, name);
  for (const auto& project : changes.added_projects) inval.entries.emplace_back(kByProjectIno, project);
  for (const auto& [project, id] : changes.added_links) {
    if (Ino dir = inodes_.Find(NodeKind::kProjectDir, project)) inval.entries.emplace_back(dir, id);
  }
  return inval;
}

size_t MountState::ImageCount() {
  std::shared_lock<std::shared_mutex> l(mu_);
  return tree_.images.size();
}

}  // namespace glint::fs
