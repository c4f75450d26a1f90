// ListCache: image list response bodies, kept for the catalog generation they were built
// at. Polling clients (dashboards, Nova, scripts) ask for the same listing again and again;
// a hit costs the generation read (one row) instead of the listing's queries and its JSON.
//
// Correct on any number of API nodes: the generation is read from the catalog on every
// request, and a body is served only for the generation it was stored under, so a change
// made through any node (every change to what lists show bumps it, by trigger) makes every
// node's kept bodies unreachable. The key names the query and everything about the caller
// that a listing depends on (project, admin, roles, user), so no caller is ever served a
// body built for another. Bounded in entries and bytes, least recently used out first.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "auth/authenticator.h"

namespace glint::control {

// Everything a listing's body depends on besides the catalog: the decoded query (in
// order), and who asks (visibility follows the project and admin; property protections
// the roles). Each part is length-prefixed, so different callers or queries never make
// the same key, whatever their text.
std::string ListCacheKey(const auth::RequestContext& caller,
                         const std::vector<std::pair<std::string, std::string>>& query);

class ListCache {
 public:
  ListCache(size_t max_entries, size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The body kept for `key` at `generation`, or null.
  std::shared_ptr<const std::string> Find(int64_t generation, const std::string& key);
  // Keeps `body` for `key` at `generation`. A newer generation than the kept ones drops
  // them all; an older one (a listing that raced a change) is not kept.
  void Store(int64_t generation, const std::string& key, std::shared_ptr<const std::string> body);

  size_t entries() const;
  size_t bytes() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const std::string> body;
  };
  void DropAllLocked();

  const size_t max_entries_, max_bytes_;
  mutable std::mutex mu_;
  int64_t generation_ = 0;
  size_t bytes_ = 0;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace glint::control
