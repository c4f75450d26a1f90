#include "fs/tree_refresher.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace glint::fs {

TreeRefresher::TreeRefresher(ImageView& view, MountState& state, int refresh_seconds)
    : view_(view), state_(state), refresh_seconds_(refresh_seconds) {}

TreeRefresher::~TreeRefresher() { Stop(); }

void TreeRefresher::Start(Invalidate invalidate) {
  // The first tree goes in before the session answers anything, so the kernel has nothing
  // cached to invalidate yet (and no loop would serve requests a notification waits on).
  RefreshOnce();
  invalidate_ = std::move(invalidate);
  thread_ = std::thread([this] { Loop(); });
}

void TreeRefresher::Stop() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TreeRefresher::Loop() {
  std::unique_lock<std::mutex> l(stop_mu_);
  while (!stop_cv_.wait_for(l, std::chrono::seconds(refresh_seconds_), [&] { return stopping_; })) {
    l.unlock();
    RefreshOnce();
    l.lock();
  }
}

std::optional<ImageTree> TreeRefresher::Poll() {
  auto r = view_.Refresh();
  if (!r.ok()) {
    if (!api_down_) spdlog::warn("API unreachable ({}); serving the last known tree", r.status().ToString());
    api_down_ = true;
    return std::nullopt;
  }
  if (api_down_) spdlog::info("API reachable again; updates resume");
  api_down_ = false;
  if (!r->has_value()) return std::nullopt;  // 304: nothing changed
  return BuildImageTree(std::move(**r));
}

TreeRefresher::Fates TreeRefresher::AskFates(const ImageTree& fresh, const TreeChanges& changes) {
  Fates f;
  for (const auto& id : changes.dropped_ids) {
    auto e = view_.Lookup(id);
    if (!e.ok() && e.status().code() == Status::Code::kNotFound) f.deleted.insert(id);
  }
  for (const auto& id : state_.LookedUpIds()) {
    if (fresh.images.count(id)) continue;
    auto e = view_.Lookup(id);
    if (!e.ok() && e.status().code() != Status::Code::kUnavailable) {
      f.unreadable.insert(id);
      if (e.status().code() == Status::Code::kNotFound) f.deleted.insert(id);
    }
  }
  return f;
}

void TreeRefresher::RefreshOnce() {
  std::optional<ImageTree> fresh = Poll();
  if (!fresh) return;
  TreeChanges changes = state_.ChangesTo(*fresh);
  Fates fates = AskFates(*fresh, changes);
  Invalidations inval = state_.ApplyRefresh(std::move(*fresh), changes, fates.deleted, fates.unreadable);
  if (invalidate_) invalidate_(inval);
  if (!changes.dropped_ids.empty() || !changes.stale_names.empty()) {
    spdlog::info("refresh: {} images, {} removed ({} deleted)", state_.ImageCount(), changes.dropped_ids.size(),
                 fates.deleted.size());
  }
}

}  // namespace glint::fs
