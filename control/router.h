// Router: the image API's routes as a table of (method, path pattern, handler). Patterns
// are /v2 paths whose segments are literals or parameters: {id} (the image), {arg} (a
// second parameter) or {rest} (the remaining segments, for schema names). Glance's
// version negotiation happens before the table: a listed version prefix (v2, v2.0-v2.15,
// multi-store adding v2.8 and v2.10-v2.13, the image cache v2.14 and v2.16) is rewritten to /v2; anything else gets the
// version list. Built once; Find is const and thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "control/api_context.h"

namespace glint::control {

using Handler = std::function<Result<HttpResponse>(const Call&)>;

// Where a request path goes before the table is consulted.
enum class PathKind {
  kVersions,    // /versions: the version list, 200
  kHealth,      // /healthcheck
  kRoot,        // no listed version: the version list, 300 (any method)
  kV2Redirect,  // /v2 exactly: 302 to /v2/
  kTable,       // a /v2 path for the route table
  kNotFound,
};
// Classifies `raw_path`; for kTable, `v2_path` gets the path with its version as /v2.
// `image_cache`: the node serves the cache API, so v2.14 and v2.16 are versions too.
PathKind ClassifyPath(const std::string& raw_path, bool multi_store, std::string* v2_path, bool image_cache = false);

class Router {
 public:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;  // empty for upload routes (their bodies stream; see IsUpload)
    int upload = 0;   // 0: not an upload; 1: image data; 2: staging (glance-direct)
  };
  struct Match {
    const Route* route = nullptr;     // null: no route for this method (see allowed)
    std::string id, arg;
    std::vector<std::string> allowed;  // methods the path has; empty: no such path
  };

  void Add(const std::string& method, const std::string& pattern, Handler handler);
  void AddUpload(const std::string& method, const std::string& pattern, int kind);
  Match Find(const std::string& method, const std::string& v2_path) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace glint::control
