#define FUSE_USE_VERSION 312
#include "fs/glint_fs.h"

#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "common/ids.h"

namespace glint::fs {
namespace {

constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;  // 1
constexpr fuse_ino_t kByIdIno = 2;
constexpr fuse_ino_t kByNameIno = 3;
constexpr fuse_ino_t kByProjectIno = 4;
constexpr const char* kXattrPrefix = "user.glint.";

enum class Kind { kDir, kProjectDir, kImage, kNameLink, kProjectLink };

struct Node {
  Kind kind;
  std::string key;       // image id, by-name entry, project, or "project/id"
  uint64_t nlookup = 0;  // kernel references (lookup replies minus forgets)
};

// The names a listing produces, computed once per refresh.
struct Tree {
  std::map<std::string, ImageEntry> images;                 // id -> entry (listed)
  std::map<std::string, std::string> names;                 // by-name entry -> id
  std::map<std::string, std::set<std::string>> projects;    // project dir -> ids
};

std::string SafeName(const std::string& raw) {
  std::string s;
  for (char c : raw) s.push_back(c == '/' ? '_' : c);
  if (s == "." || s == "..") s = "_" + s;
  if (s.size() > 200) s.resize(200);
  return s;
}

std::string ProjectDirName(const ImageEntry& e) { return e.owner ? SafeName(*e.owner) : "_none"; }

Tree BuildTree(std::vector<ImageEntry> entries) {
  Tree t;
  // Duplicate names: the oldest image (created_at, then id) keeps the plain name, the
  // others get "<name>~<first 8 hex of id>". Stable as long as the oldest exists.
  std::sort(entries.begin(), entries.end(), [](const ImageEntry& a, const ImageEntry& b) {
    auto ca = a.fields.count("created_at") ? a.fields.at("created_at") : "";
    auto cb = b.fields.count("created_at") ? b.fields.at("created_at") : "";
    return std::tie(ca, a.id) < std::tie(cb, b.id);
  });
  for (auto& e : entries) {
    if (e.name && !e.name->empty()) {
      std::string n = SafeName(*e.name);
      if (t.names.count(n)) n += "~" + e.id.substr(0, 8);
      t.names[n] = e.id;
    }
    t.projects[ProjectDirName(e)].insert(e.id);
    std::string id = e.id;
    t.images.emplace(id, std::move(e));
  }
  return t;
}

struct OpenFile {
  std::unique_ptr<store::Reader> reader;
  std::shared_ptr<std::atomic<bool>> gone;  // set when the image is deleted
  std::string image_id;
};

struct DirHandle {
  std::vector<std::pair<std::string, fuse_ino_t>> entries;  // name -> ino (with . and ..)
  std::vector<mode_t> types;
};

class Fs {
 public:
  Fs(ImageView& view, DataSource& source, const FsOptions& opt)
      : view_(view), source_(source), opt_(opt) {}
  const FsOptions& options() const { return opt_; }
  void SetMountpoint(std::string path) { mountpoint_ = std::move(path); }

  // The kernel reads ahead of a FUSE file only as far as its bdi's read_ahead_kb
  // (128 KiB by default, and INIT can only lower it), so sequential readers get one small
  // request at a time. Raised once the session is up (INIT done: a file is being opened).
  void TuneKernelReadahead() {
    if (opt_.kernel_readahead_kb <= 0 || mountpoint_.empty()) return;
    // mountinfo writes space, tab, newline and backslash in paths as \ooo octal escapes.
    auto unescape = [](const std::string& in) {
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
    };
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    bool found = false;
    while (std::getline(mounts, line)) {
      std::istringstream f(line);
      std::string id, parent, dev, root, point;
      f >> id >> parent >> dev >> root >> point;
      if (unescape(point) != mountpoint_) continue;
      found = true;
      std::string sysfs = "/sys/class/bdi/" + dev + "/read_ahead_kb";
      std::ofstream out(sysfs);
      out << std::min(opt_.kernel_readahead_kb, 1 << 20) << "\n";
      out.flush();
      if (!out) {
        spdlog::warn("cannot set {} (kernel read-ahead stays at its default)", sysfs);
      } else {
        spdlog::info("kernel read-ahead {} KiB ({})", opt_.kernel_readahead_kb, sysfs);
      }
    }
    if (!found) spdlog::warn("{} not in /proc/self/mountinfo: kernel read-ahead left as it is", mountpoint_);
  }

  // ---- inode table (callers hold mu_) ----
  fuse_ino_t InoFor(Kind kind, const std::string& key) {
    auto k = std::make_pair(static_cast<int>(kind), key);
    auto it = ino_of_.find(k);
    if (it != ino_of_.end()) return it->second;
    fuse_ino_t ino = next_ino_++;
    ino_of_[k] = ino;
    nodes_[ino] = Node{kind, key, 0};
    return ino;
  }
  const Node* NodeFor(fuse_ino_t ino) const {
    auto it = nodes_.find(ino);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  const ImageEntry* Image(const std::string& id) const {
    auto it = tree_.images.find(id);
    if (it != tree_.images.end()) return &it->second;
    auto ex = extra_.find(id);
    if (ex != extra_.end()) return &ex->second;
    // Gone from the tree but still open somewhere: fstat and reads keep working.
    auto op = open_.find(id);
    return op == open_.end() ? nullptr : &op->second.first;
  }

  struct stat DirStat(fuse_ino_t ino) const {
    struct stat st = {};
    st.st_ino = ino;
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
    st.st_mtim.tv_sec = static_cast<time_t>(started_);
    return st;
  }
  struct stat FileStat(fuse_ino_t ino, const ImageEntry& e) const {
    struct stat st = {};
    st.st_ino = ino;
    st.st_mode = S_IFREG | 0444;
    st.st_nlink = 1;
    st.st_size = e.size;
    st.st_blocks = (e.size + 511) / 512;
    st.st_blksize = 1 << 20;
    int64_t t = DataTime(e);
    st.st_mtim.tv_sec = st.st_ctim.tv_sec = st.st_atim.tv_sec = static_cast<time_t>(t);
    return st;
  }
  // When the image became active: the store's write time, else its last update.
  int64_t DataTime(const ImageEntry& e) const {
    std::lock_guard<std::mutex> l(time_mu_);
    auto it = data_time_.find(e.id);
    if (it != data_time_.end()) return it->second;
    int64_t t = source_.DataTime(e).value_or(e.updated_at / 1000000);
    data_time_[e.id] = t;
    return t;
  }

  struct stat LinkStat(fuse_ino_t ino, size_t target_len) const {
    struct stat st = {};
    st.st_ino = ino;
    st.st_mode = S_IFLNK | 0777;
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(target_len);
    st.st_mtim.tv_sec = static_cast<time_t>(started_);
    return st;
  }

  // Attributes of any inode, or an errno.
  int Stat(fuse_ino_t ino, struct stat* st, double* timeout) {
    *timeout = opt_.refresh_seconds;
    if (ino == kRootIno || ino == kByIdIno || ino == kByNameIno || ino == kByProjectIno) {
      *st = DirStat(ino);
      return 0;
    }
    const Node* n = NodeFor(ino);
    if (!n) return ENOENT;
    switch (n->kind) {
      case Kind::kProjectDir:
        *st = DirStat(ino);
        return 0;
      case Kind::kImage: {
        const ImageEntry* e = Image(n->key);
        if (!e) return ENOENT;
        *st = FileStat(ino, *e);
        *timeout = opt_.file_timeout;
        return 0;
      }
      case Kind::kNameLink: {
        auto it = tree_.names.find(n->key);
        if (it == tree_.names.end()) return ENOENT;
        *st = LinkStat(ino, std::string("../by-id/").size() + it->second.size());
        return 0;
      }
      case Kind::kProjectLink:
        *st = LinkStat(ino, std::string("../../by-id/").size() + 36);
        return 0;
      default:
        return ENOENT;
    }
  }

  // ---- operations ----
  void Lookup(fuse_req_t req, fuse_ino_t parent, const std::string& name) {
    std::optional<fuse_ino_t> found;
    {
      std::unique_lock<std::shared_mutex> l(mu_);
      found = Resolve(parent, name);
    }
    if (!found && parent == kByIdIno && IsUuid(name)) {
      // Not listed: ask the API now (new, hidden, community, shared-but-not-accepted).
      auto e = view_.Lookup(name);
      if (e.ok() && e->id == name) {
        std::unique_lock<std::shared_mutex> l(mu_);
        extra_[name] = std::move(e).value();
        found = InoFor(Kind::kImage, name);
      } else if (!e.ok() && e.status().code() == Status::Code::kUnavailable) {
        return (void)fuse_reply_err(req, EIO);
      }
    }
    if (!found) return (void)fuse_reply_err(req, ENOENT);
    fuse_entry_param ep = {};
    std::unique_lock<std::shared_mutex> l(mu_);
    double timeout = 0;
    int err = Stat(*found, &ep.attr, &timeout);
    if (err) {
      l.unlock();
      return (void)fuse_reply_err(req, err);
    }
    ep.ino = *found;
    ep.attr_timeout = ep.entry_timeout = timeout;
    nodes_[*found].nlookup++;
    l.unlock();
    fuse_reply_entry(req, &ep);
  }

  // Child `name` of `parent` in the current tree (mu_ held).
  std::optional<fuse_ino_t> Resolve(fuse_ino_t parent, const std::string& name) {
    if (parent == kRootIno) {
      if (name == "by-id") return kByIdIno;
      if (name == "by-name") return kByNameIno;
      if (name == "by-project") return kByProjectIno;
      return std::nullopt;
    }
    if (parent == kByIdIno) {
      if (tree_.images.count(name) || extra_.count(name)) return InoFor(Kind::kImage, name);
      return std::nullopt;
    }
    if (parent == kByNameIno) {
      if (tree_.names.count(name)) return InoFor(Kind::kNameLink, name);
      return std::nullopt;
    }
    if (parent == kByProjectIno) {
      if (tree_.projects.count(name)) return InoFor(Kind::kProjectDir, name);
      return std::nullopt;
    }
    const Node* n = NodeFor(parent);
    if (n && n->kind == Kind::kProjectDir) {
      auto it = tree_.projects.find(n->key);
      if (it != tree_.projects.end() && it->second.count(name)) {
        return InoFor(Kind::kProjectLink, n->key + "/" + name);
      }
    }
    return std::nullopt;
  }

  void Forget(fuse_ino_t ino, uint64_t nlookup) {
    std::unique_lock<std::shared_mutex> l(mu_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end()) return;
    it->second.nlookup -= std::min(nlookup, it->second.nlookup);
    if (it->second.nlookup == 0 && !StillListed(it->second)) {
      ino_of_.erase({static_cast<int>(it->second.kind), it->second.key});
      nodes_.erase(it);
    }
  }

  bool StillListed(const Node& n) const {
    switch (n.kind) {
      case Kind::kImage: return tree_.images.count(n.key) || extra_.count(n.key);
      case Kind::kNameLink: return tree_.names.count(n.key) > 0;
      case Kind::kProjectDir: return tree_.projects.count(n.key) > 0;
      default: return false;
    }
  }

  void GetAttr(fuse_req_t req, fuse_ino_t ino) {
    struct stat st;
    double timeout = 0;
    int err;
    {
      std::shared_lock<std::shared_mutex> l(mu_);
      err = Stat(ino, &st, &timeout);
    }
    if (err) return (void)fuse_reply_err(req, err);
    fuse_reply_attr(req, &st, timeout);
  }

  void ReadLink(fuse_req_t req, fuse_ino_t ino) {
    std::string target;
    {
      std::shared_lock<std::shared_mutex> l(mu_);
      const Node* n = NodeFor(ino);
      if (n && n->kind == Kind::kNameLink && tree_.names.count(n->key)) {
        target = "../by-id/" + tree_.names.at(n->key);
      } else if (n && n->kind == Kind::kProjectLink) {
        target = "../../by-id/" + n->key.substr(n->key.rfind('/') + 1);
      }
    }
    if (target.empty()) return (void)fuse_reply_err(req, ENOENT);
    fuse_reply_readlink(req, target.c_str());
  }

  void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    auto dh = std::make_unique<DirHandle>();
    auto add = [&](const std::string& name, fuse_ino_t child, mode_t type) {
      dh->entries.emplace_back(name, child);
      dh->types.push_back(type);
    };
    {
      std::unique_lock<std::shared_mutex> l(mu_);
      add(".", ino, S_IFDIR);
      add("..", kRootIno, S_IFDIR);
      if (ino == kRootIno) {
        add("by-id", kByIdIno, S_IFDIR);
        add("by-name", kByNameIno, S_IFDIR);
        add("by-project", kByProjectIno, S_IFDIR);
      } else if (ino == kByIdIno) {
        for (const auto& [id, e] : tree_.images) add(id, InoFor(Kind::kImage, id), S_IFREG);
      } else if (ino == kByNameIno) {
        for (const auto& [name, id] : tree_.names) add(name, InoFor(Kind::kNameLink, name), S_IFLNK);
      } else if (ino == kByProjectIno) {
        for (const auto& [p, ids] : tree_.projects) add(p, InoFor(Kind::kProjectDir, p), S_IFDIR);
      } else {
        const Node* n = NodeFor(ino);
        if (!n || n->kind != Kind::kProjectDir) {
          l.unlock();
          return (void)fuse_reply_err(req, n ? ENOTDIR : ENOENT);
        }
        std::string project = n->key;
        auto it = tree_.projects.find(project);
        if (it != tree_.projects.end()) {
          for (const auto& id : it->second) add(id, InoFor(Kind::kProjectLink, project + "/" + id), S_IFLNK);
        }
      }
    }
    fi->fh = reinterpret_cast<uint64_t>(dh.release());
    fuse_reply_open(req, fi);
  }

  void ReadDir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
    auto* dh = reinterpret_cast<DirHandle*>(fi->fh);
    std::vector<char> buf(size);
    size_t used = 0;
    for (size_t i = static_cast<size_t>(off); i < dh->entries.size(); ++i) {
      struct stat st = {};
      st.st_ino = dh->entries[i].second;
      st.st_mode = dh->types[i];
      size_t need = fuse_add_direntry(req, buf.data() + used, size - used, dh->entries[i].first.c_str(),
                                      &st, static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  }

  void ReleaseDir(fuse_req_t req, fuse_file_info* fi) {
    delete reinterpret_cast<DirHandle*>(fi->fh);
    fuse_reply_err(req, 0);
  }

  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_APPEND))) {
      return (void)fuse_reply_err(req, EROFS);
    }
    std::call_once(readahead_once_, [this] { TuneKernelReadahead(); });
    ImageEntry entry;
    std::shared_ptr<std::atomic<bool>> gone;
    {
      std::unique_lock<std::shared_mutex> l(mu_);
      const Node* n = NodeFor(ino);
      const ImageEntry* e = n && n->kind == Kind::kImage ? Image(n->key) : nullptr;
      if (!e) {
        l.unlock();
        return (void)fuse_reply_err(req, n ? EISDIR : ENOENT);
      }
      entry = *e;
      auto& flag = gone_[entry.id];
      if (!flag) flag = std::make_shared<std::atomic<bool>>(false);
      gone = flag;
      auto& held = open_[entry.id];
      held.first = entry;
      held.second++;
    }
    auto reader = source_.Open(entry);
    if (!reader.ok()) {
      Unhold(entry.id);
      spdlog::error("open {}: {}", entry.id, reader.status().ToString());
      return (void)fuse_reply_err(req, reader.status().code() == Status::Code::kNotFound ? ENOENT : EIO);
    }
    auto* of = new OpenFile{std::move(reader).value(), gone, entry.id};
    fi->fh = reinterpret_cast<uint64_t>(of);
    fi->keep_cache = 1;  // image data never changes: keep the page cache across opens
    fi->noflush = 1;
    fuse_reply_open(req, fi);
  }

  void Read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
    auto* of = reinterpret_cast<OpenFile*>(fi->fh);
    if (of->gone->load()) return (void)fuse_reply_err(req, EIO);
    int fd = of->reader->fd();
    if (fd >= 0) {
      // Zero-copy: libfuse splices from the store file into /dev/fuse when it can.
      fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
      bv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
      bv.buf[0].fd = fd;
      bv.buf[0].pos = off;
      fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
      return;
    }
    thread_local std::vector<char> buf;
    if (buf.size() < size) buf.resize(size);
    auto n = of->reader->ReadAt(off, buf.data(), size);
    if (!n.ok()) {
      spdlog::error("read: {}", n.status().ToString());
      return (void)fuse_reply_err(req, EIO);
    }
    fuse_reply_buf(req, buf.data(), *n);
  }

  void Release(fuse_req_t req, fuse_file_info* fi) {
    auto* of = reinterpret_cast<OpenFile*>(fi->fh);
    Unhold(of->image_id);
    delete of;
    fuse_reply_err(req, 0);
  }

  void Unhold(const std::string& id) {
    std::unique_lock<std::shared_mutex> l(mu_);
    auto it = open_.find(id);
    if (it != open_.end() && --it->second.second <= 0) open_.erase(it);
  }

  void Lseek(fuse_req_t req, off_t off, int whence, fuse_file_info* fi) {
    auto* of = reinterpret_cast<OpenFile*>(fi->fh);
    int fd = of->reader->fd();
    if (fd >= 0) {
      off_t r = ::lseek(fd, off, whence);
      if (r < 0) return (void)fuse_reply_err(req, errno);
      return (void)fuse_reply_lseek(req, r);
    }
    int64_t size = of->reader->size();
    if (off >= size) return (void)fuse_reply_err(req, ENXIO);
    if (whence == SEEK_DATA) return (void)fuse_reply_lseek(req, off);
    if (whence == SEEK_HOLE) return (void)fuse_reply_lseek(req, size);
    fuse_reply_err(req, EINVAL);
  }

  // xattrs: user.glint.<field> for every scalar field of the image record.
  void GetXattr(fuse_req_t req, fuse_ino_t ino, const std::string& name, size_t size) {
    std::string value;
    bool found = false;
    {
      std::shared_lock<std::shared_mutex> l(mu_);
      const Node* n = NodeFor(ino);
      const ImageEntry* e = n && n->kind == Kind::kImage ? Image(n->key) : nullptr;
      if (e && name.rfind(kXattrPrefix, 0) == 0) {
        auto it = e->fields.find(name.substr(std::strlen(kXattrPrefix)));
        if (it != e->fields.end()) {
          value = it->second;
          found = true;
        }
      }
    }
    if (!found) return (void)fuse_reply_err(req, ENODATA);
    if (size == 0) return (void)fuse_reply_xattr(req, value.size());
    if (size < value.size()) return (void)fuse_reply_err(req, ERANGE);
    fuse_reply_buf(req, value.data(), value.size());
  }

  void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    std::string list;
    {
      std::shared_lock<std::shared_mutex> l(mu_);
      const Node* n = NodeFor(ino);
      const ImageEntry* e = n && n->kind == Kind::kImage ? Image(n->key) : nullptr;
      if (e) {
        for (const auto& [k, v] : e->fields) {
          list += kXattrPrefix + k;
          list.push_back('\0');
        }
      }
    }
    if (size == 0) return (void)fuse_reply_xattr(req, list.size());
    if (size < list.size()) return (void)fuse_reply_err(req, ERANGE);
    fuse_reply_buf(req, list.data(), list.size());
  }

  // ---- freshness ----
  void Start(fuse_session* se) {
    se_ = se;
    RefreshOnce();
    refresher_ = std::thread([this] { RefreshLoop(); });
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> l(stop_mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (refresher_.joinable()) refresher_.join();
  }

  void RefreshLoop() {
    std::unique_lock<std::mutex> l(stop_mu_);
    while (!stop_cv_.wait_for(l, std::chrono::seconds(opt_.refresh_seconds), [&] { return stopping_; })) {
      l.unlock();
      RefreshOnce();
      l.lock();
    }
  }

  void RefreshOnce() {
    auto r = view_.Refresh();
    if (!r.ok()) {
      if (!api_down_) {
        spdlog::warn("API unreachable ({}); serving the last known tree", r.status().ToString());
      }
      api_down_ = true;
      return;
    }
    if (api_down_) spdlog::info("API reachable again; updates resume");
    api_down_ = false;
    if (!r->has_value()) return;  // 304: nothing changed
    Tree fresh = BuildTree(std::move(**r));

    // Images no longer listed, and looked-up ones that are gone or no longer readable.
    std::vector<std::string> dropped;
    std::vector<std::string> stale_names, stale_links;
    std::vector<std::string> extra_ids;
    {
      std::shared_lock<std::shared_mutex> l(mu_);
      for (const auto& [id, e] : tree_.images) {
        if (!fresh.images.count(id)) dropped.push_back(id);
      }
      for (const auto& [name, id] : tree_.names) {
        auto it = fresh.names.find(name);
        if (it == fresh.names.end() || it->second != id) stale_names.push_back(name);
      }
      for (const auto& [p, ids] : tree_.projects) {
        for (const auto& id : ids) {
          auto it = fresh.projects.find(p);
          if (it == fresh.projects.end() || !it->second.count(id)) stale_links.push_back(p + "/" + id);
        }
      }
      for (const auto& [id, e] : extra_) extra_ids.push_back(id);
    }
    // What happened to each dropped or looked-up image: deleted images make open files
    // fail; deactivated/hidden ones keep serving already open files.
    std::set<std::string> deleted, unreadable;
    for (const auto& id : dropped) {
      if (fresh.images.count(id)) continue;
      auto e = view_.Lookup(id);
      if (!e.ok() && e.status().code() == Status::Code::kNotFound) deleted.insert(id);
    }
    for (const auto& id : extra_ids) {
      if (fresh.images.count(id)) continue;
      auto e = view_.Lookup(id);
      if (!e.ok() && e.status().code() != Status::Code::kUnavailable) {
        unreadable.insert(id);
        if (e.status().code() == Status::Code::kNotFound) deleted.insert(id);
      }
    }
    std::vector<std::pair<fuse_ino_t, std::string>> inval_entries;
    std::vector<fuse_ino_t> inval_inodes;
    {
      std::unique_lock<std::shared_mutex> l(mu_);
      tree_ = std::move(fresh);
      for (const auto& id : unreadable) extra_.erase(id);
      for (const auto& [id, e] : tree_.images) extra_.erase(id);
      for (const auto& id : deleted) {
        auto g = gone_.find(id);
        if (g != gone_.end()) g->second->store(true);
      }
      auto ino_of = [&](Kind k, const std::string& key) -> fuse_ino_t {
        auto it = ino_of_.find({static_cast<int>(k), key});
        return it == ino_of_.end() ? 0 : it->second;
      };
      for (const auto& id : dropped) {
        if (extra_.count(id)) continue;
        inval_entries.emplace_back(kByIdIno, id);
        if (fuse_ino_t ino = ino_of(Kind::kImage, id)) inval_inodes.push_back(ino);
      }
      for (const auto& id : unreadable) {
        inval_entries.emplace_back(kByIdIno, id);
        if (fuse_ino_t ino = ino_of(Kind::kImage, id)) inval_inodes.push_back(ino);
      }
      for (const auto& name : stale_names) inval_entries.emplace_back(kByNameIno, name);
      for (const auto& link : stale_links) {
        std::string project = link.substr(0, link.find('/'));
        if (fuse_ino_t dir = ino_of(Kind::kProjectDir, project)) {
          inval_entries.emplace_back(dir, link.substr(link.find('/') + 1));
        }
      }
    }
    // Tell the kernel outside our lock (it may call back into us).
    for (const auto& [parent, name] : inval_entries) {
      fuse_lowlevel_notify_inval_entry(se_, parent, name.c_str(), name.size());
    }
    for (fuse_ino_t ino : inval_inodes) fuse_lowlevel_notify_inval_inode(se_, ino, 0, 0);
    if (!dropped.empty() || !stale_names.empty()) {
      spdlog::info("refresh: {} images, {} removed ({} deleted)", tree_.images.size(), dropped.size(),
                   deleted.size());
    }
  }

  ImageView& view_;
  DataSource& source_;
  FsOptions opt_;
  std::string mountpoint_;
  std::once_flag readahead_once_;
  int64_t started_ = NowMicros() / 1000000;

  std::shared_mutex mu_;
  Tree tree_;
  std::map<std::string, ImageEntry> extra_;  // looked up by id, not listed
  std::unordered_map<fuse_ino_t, Node> nodes_;
  std::map<std::pair<int, std::string>, fuse_ino_t> ino_of_;
  fuse_ino_t next_ino_ = 100;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> gone_;
  std::map<std::string, std::pair<ImageEntry, int>> open_;  // entries of open files
  mutable std::mutex time_mu_;
  mutable std::map<std::string, int64_t> data_time_;

  fuse_session* se_ = nullptr;
  std::atomic<bool> api_down_{false};
  std::thread refresher_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

Fs* Self(fuse_req_t req) { return static_cast<Fs*>(fuse_req_userdata(req)); }

// No exception may cross into libfuse's C code: every op goes through Guard.
template <typename Fn>
void Guard(fuse_req_t req, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::error("fuse op failed: {}", e.what());
    fuse_reply_err(req, EIO);
  }
}

void ErofsReply(fuse_req_t req) { fuse_reply_err(req, EROFS); }

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops = {};
  ops.init = [](void* userdata, fuse_conn_info* conn) {
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
    if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
    // Image data never changes in place; glint-fs invalidates explicitly on delete.
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
    conn->max_write = 1 << 20;  // with FUSE_MAX_PAGES this also allows 1 MiB reads
    conn->max_read = 1 << 20;   // must match the max_read mount option
    // The kernel keeps the smaller of this and the bdi's read_ahead_kb (raised later).
    unsigned want_ra = static_cast<unsigned>(std::clamp(static_cast<Fs*>(userdata)->options().kernel_readahead_kb,
                                                        0, 1 << 20)) << 10;
    conn->max_readahead = std::max({conn->max_readahead, 1u << 20, want_ra});
    conn->max_background = 64;
    conn->congestion_threshold = 48;
  };
  ops.lookup = [](fuse_req_t req, fuse_ino_t parent, const char* name) {
    Guard(req, [&] { Self(req)->Lookup(req, parent, name); });
  };
  ops.forget = [](fuse_req_t req, fuse_ino_t ino, uint64_t n) {
    Self(req)->Forget(ino, n);
    fuse_reply_none(req);
  };
  ops.forget_multi = [](fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i) Self(req)->Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  };
  ops.getattr = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    Guard(req, [&] { Self(req)->GetAttr(req, ino); });
  };
  ops.readlink = [](fuse_req_t req, fuse_ino_t ino) { Guard(req, [&] { Self(req)->ReadLink(req, ino); }); };
  ops.opendir = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->OpenDir(req, ino, fi); });
  };
  ops.readdir = [](fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->ReadDir(req, size, off, fi); });
  };
  ops.releasedir = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { Self(req)->ReleaseDir(req, fi); };
  ops.open = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->Open(req, ino, fi); });
  };
  ops.read = [](fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->Read(req, size, off, fi); });
  };
  ops.release = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { Self(req)->Release(req, fi); };
  ops.lseek = [](fuse_req_t req, fuse_ino_t, off_t off, int whence, fuse_file_info* fi) {
    Guard(req, [&] { Self(req)->Lseek(req, off, whence, fi); });
  };
  ops.getxattr = [](fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    Guard(req, [&] { Self(req)->GetXattr(req, ino, name, size); });
  };
  ops.listxattr = [](fuse_req_t req, fuse_ino_t ino, size_t size) {
    Guard(req, [&] { Self(req)->ListXattr(req, ino, size); });
  };
  // Read-only in every way.
  ops.setattr = [](fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { ErofsReply(req); };
  ops.mknod = [](fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { ErofsReply(req); };
  ops.mkdir = [](fuse_req_t req, fuse_ino_t, const char*, mode_t) { ErofsReply(req); };
  ops.unlink = [](fuse_req_t req, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.rmdir = [](fuse_req_t req, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.symlink = [](fuse_req_t req, const char*, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.rename = [](fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) { ErofsReply(req); };
  ops.link = [](fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.write = [](fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) { ErofsReply(req); };
  ops.create = [](fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { ErofsReply(req); };
  ops.setxattr = [](fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { ErofsReply(req); };
  ops.removexattr = [](fuse_req_t req, fuse_ino_t, const char*) { ErofsReply(req); };
  ops.fallocate = [](fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { ErofsReply(req); };
  ops.copy_file_range = [](fuse_req_t req, fuse_ino_t, off_t, fuse_file_info*, fuse_ino_t, off_t,
                           fuse_file_info*, size_t, int) { ErofsReply(req); };
  return ops;
}

// The session's lifecycle in one place: new, signal handlers, mount, loop, unmount, destroy.
class FuseSession {
 public:
  FuseSession(const std::vector<std::string>& argv, Fs* fs) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    fuse_args fa = FUSE_ARGS_INIT(static_cast<int>(args.size()), args.data());
    static const fuse_lowlevel_ops kOps = MakeOps();
    se_ = fuse_session_new(&fa, &kOps, sizeof kOps, fs);
  }
  ~FuseSession() {
    if (!se_) return;
    if (mounted_) fuse_session_unmount(se_);
    if (signals_) fuse_remove_signal_handlers(se_);
    fuse_session_destroy(se_);
  }
  fuse_session* get() const { return se_; }
  bool Mount(const std::string& mountpoint) {
    if (!se_) return false;
    if (fuse_set_signal_handlers(se_) != 0) return false;
    signals_ = true;
    mounted_ = fuse_session_mount(se_, mountpoint.c_str()) == 0;
    return mounted_;
  }
  int Loop(int max_threads) {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(max_threads));
    fuse_loop_cfg_set_idle_threads(cfg, 4);
    int rc = fuse_session_loop_mt(se_, cfg);
    fuse_loop_cfg_destroy(cfg);
    return rc;
  }

 private:
  fuse_session* se_ = nullptr;
  bool signals_ = false, mounted_ = false;
};

}  // namespace

int RunGlintFs(const std::string& mountpoint, ImageView& view, DataSource& source,
               const FsOptions& options) {
  Fs fs(view, source, options);
  std::string opts = "ro,fsname=glint,subtype=glint,default_permissions,allow_other,max_read=1048576";
  for (const auto& o : options.mount_options) opts += "," + o;
  FuseSession session({"glint-fs", "-o", opts}, &fs);
  if (!session.get()) {
    spdlog::critical("cannot create the FUSE session");
    return 1;
  }
  // Resolved before mounting: afterwards, looking at the mount root would wait for a
  // FUSE loop that has not started yet.
  std::error_code ec;
  auto canonical = std::filesystem::canonical(mountpoint, ec);
  fs.SetMountpoint(ec ? mountpoint : canonical.string());
  if (!session.Mount(mountpoint)) {
    spdlog::critical("cannot mount at {}", mountpoint);
    return 1;
  }
  fs.Start(session.get());
  spdlog::info("glint-fs mounted at {} (API {})", mountpoint, view.api_url());
  int rc = session.Loop(options.max_threads);
  fs.Stop();
  spdlog::info("glint-fs unmounting {}", mountpoint);
  return rc == 0 ? 0 : 1;
}

}  // namespace glint::fs
