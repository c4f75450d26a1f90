#include "control/list_cache.h"

#include <algorithm>
#include <string_view>

namespace glint::control {

std::string ListCacheKey(const auth::RequestContext& caller,
                         const std::vector<std::pair<std::string, std::string>>& query) {
  std::string key;
  auto add = [&](std::string_view part) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
  };
  auto add_opt = [&](const std::optional<std::string>& part) {
    key += part ? '+' : '-';
    add(part.value_or(""));
  };
  auto add_sorted = [&](std::vector<std::string> parts) {
    std::sort(parts.begin(), parts.end());
    add(std::to_string(parts.size()));
    for (const auto& part : parts) add(part);
  };
  add_opt(caller.user_id);
  add_opt(caller.project_id);
  key += caller.is_admin ? 'A' : 'a';
  add_sorted(caller.roles);
  add_sorted(caller.service_roles);
  add(std::to_string(query.size()));
  for (const auto& [k, v] : query) {
    add(k);
    add(v);
  }
  return key;
}

std::shared_ptr<const std::string> ListCache::Find(int64_t generation, const std::string& key) {
  if (max_bytes_ == 0) return nullptr;
  std::lock_guard<std::mutex> l(mu_);
  if (generation != generation_) return nullptr;
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->body;
}

void ListCache::Store(int64_t generation, const std::string& key, std::shared_ptr<const std::string> body) {
  const size_t size = body->size() + key.size();
  if (max_bytes_ == 0 || max_entries_ == 0 || size > max_bytes_ / 4) return;  // off; one listing never fills it
  std::lock_guard<std::mutex> l(mu_);
  if (generation < generation_) return;
  if (generation > generation_) {
    DropAllLocked();
    generation_ = generation;
  }
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->body->size() + key.size();
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{key, std::move(body)});
  index_.emplace(key, lru_.begin());
  bytes_ += size;
  while (lru_.size() > max_entries_ || bytes_ > max_bytes_) {
    const Entry& last = lru_.back();
    bytes_ -= last.body->size() + last.key.size();
    index_.erase(last.key);
    lru_.pop_back();
  }
}

void ListCache::DropAllLocked() {
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

size_t ListCache::entries() const {
  std::lock_guard<std::mutex> l(mu_);
  return lru_.size();
}

size_t ListCache::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

}  // namespace glint::control
