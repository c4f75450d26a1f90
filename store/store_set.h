// StoreSet: the stores one API node writes to and reads from. In single-store mode
// (Glance's `[glance_store] default_store`) it holds one backend; in multi-store mode
// (`enabled_backends = fast:rbd, local:file`) several, each with an id, one the default.
// Built at startup, then read-only: safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/backend.h"

namespace glint::store {

class StoreSet {
 public:
  struct Entry {
    std::string id;    // backend id ("fast", or the type in single-store mode)
    std::string type;  // "file", "rbd", "memory"
    std::unique_ptr<Backend> backend;
    bool is_default = false;
  };

  explicit StoreSet(bool multi_store = false) : multi_(multi_store) {}
  void Add(std::string id, std::string type, std::unique_ptr<Backend> backend, bool is_default) {
    entries_.push_back({std::move(id), std::move(type), std::move(backend), is_default});
  }
  // A store that only reads locations (the http store of a single-store node, as Glance's
  // default `stores = file, http`): found by Owner, never listed, never a target.
  void AddReader(std::unique_ptr<Backend> backend) { readers_.push_back(std::move(backend)); }
  bool multi_store() const { return multi_; }
  const std::vector<Entry>& entries() const { return entries_; }

  Backend* Default() const {
    for (const auto& e : entries_) {
      if (e.is_default) return e.backend.get();
    }
    return entries_.empty() ? nullptr : entries_.front().backend.get();
  }
  Backend* Find(const std::string& id) const {
    for (const auto& e : entries_) {
      if (e.id == id) return e.backend.get();
    }
    return nullptr;
  }
  // The backend a location belongs to, or nullptr.
  Backend* Owner(const std::string& location) const {
    for (const auto& e : entries_) {
      if (e.backend->OwnsLocation(location)) return e.backend.get();
    }
    for (const auto& r : readers_) {
      if (r->OwnsLocation(location)) return r.get();
    }
    return nullptr;
  }

 private:
  bool multi_;
  std::vector<Entry> entries_;
  std::vector<std::unique_ptr<Backend>> readers_;
};

}  // namespace glint::store
