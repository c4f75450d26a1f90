#include "control/router.h"

#include <algorithm>
#include <set>

namespace glint::control {
namespace {

std::vector<std::string> PathSegments(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Binds `path` to `pattern`; false when they do not match.
bool Bind(const std::vector<std::string>& pattern, const std::vector<std::string>& path, std::string* id,
          std::string* arg) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (p == "{rest}") {
      if (i >= path.size()) return false;
      arg->clear();
      for (size_t j = i; j < path.size(); ++j) *arg += (j > i ? "/" : "") + path[j];
      return true;
    }
    if (i >= path.size()) return false;
    if (p == "{id}") {
      *id = path[i];
    } else if (p == "{arg}") {
      *arg = path[i];
    } else if (p != path[i]) {
      return false;
    }
  }
  return pattern.size() == path.size();
}

}  // namespace

PathKind ClassifyPath(const std::string& raw_path, bool multi_store, std::string* v2_path, bool image_cache) {
  if (raw_path == "/versions") return PathKind::kVersions;
  if (raw_path == "/healthcheck") return PathKind::kHealth;
  size_t end = raw_path.find('/', 1);
  std::string first = raw_path.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  static const std::set<std::string> kAlways = {"v2",   "v2.0", "v2.1", "v2.2", "v2.3", "v2.4",
                                                "v2.5", "v2.6", "v2.7", "v2.9", "v2.15"};
  static const std::set<std::string> kMultiStore = {"v2.8", "v2.10", "v2.11", "v2.12", "v2.13"};
  static const std::set<std::string> kImageCache = {"v2.14", "v2.16"};
  if (!kAlways.count(first) && !(multi_store && kMultiStore.count(first)) && !(image_cache && kImageCache.count(first))) {
    return PathKind::kRoot;
  }
  *v2_path = "/v2" + (end == std::string::npos ? std::string() : raw_path.substr(end));
  if (*v2_path == "/v2") return PathKind::kV2Redirect;
  if (v2_path->back() == '/') return PathKind::kNotFound;
  return PathKind::kTable;
}

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back({method, PathSegments(pattern), std::move(handler), 0});
}

void Router::AddUpload(const std::string& method, const std::string& pattern, int kind) {
  routes_.push_back({method, PathSegments(pattern), nullptr, kind});
}

Router::Match Router::Find(const std::string& method, const std::string& v2_path) const {
  Match m;
  const auto path = PathSegments(v2_path);
  for (const auto& r : routes_) {
    std::string id, arg;
    if (!Bind(r.segments, path, &id, &arg)) continue;
    if (std::find(m.allowed.begin(), m.allowed.end(), r.method) == m.allowed.end()) m.allowed.push_back(r.method);
    if (!m.route && r.method == method) {
      m.route = &r;
      m.id = id;
      m.arg = arg;
    }
  }
  return m;
}

}  // namespace glint::control
