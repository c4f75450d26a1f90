// TreeRefresher: keeps a MountState in step with the API. A thread polls ImageView every
// `refresh_seconds` (a 304 when nothing changed); on a change it rebuilds the ImageTree,
// asks the API what became of every image that left it (deleted images make their open
// files fail, deactivated or hidden ones keep serving open files), installs the new tree
// and has the kernel drop the entries and inodes that went away. While the API is
// unreachable the last tree stays.
//
// Start() runs the first refresh on the caller's thread (before the session loop runs, so
// without notifying the kernel), then starts the refresh thread;
// Stop() joins it. The kernel is told through `invalidate`, outside MountState's lock
// (the kernel may call back into the mount while it handles a notification).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "fs/image_view.h"
#include "fs/mount_state.h"

namespace glint::fs {

class TreeRefresher {
 public:
  using Invalidate = std::function<void(const Invalidations&)>;
  TreeRefresher(ImageView& view, MountState& state, int refresh_seconds);
  ~TreeRefresher();

  void Start(Invalidate invalidate);
  void Stop();
  // One poll and, when the listing changed, one update of the tree.
  void RefreshOnce();

 private:
  // What became of images that left the tree or were looked up by id.
  struct Fates {
    std::set<std::string> deleted;     // gone for good: open files must fail
    std::set<std::string> unreadable;  // looked-up images the credential can no longer open
  };
  // The new tree, or nullopt when nothing changed or the API is unreachable.
  std::optional<ImageTree> Poll();
  Fates AskFates(const ImageTree& fresh, const TreeChanges& changes);
  void Loop();

  ImageView& view_;
  MountState& state_;
  const int refresh_seconds_;
  Invalidate invalidate_;
  bool api_down_ = false;  // refresh thread only (and Start, before it runs)

  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace glint::fs
