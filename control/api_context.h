// ApiContext: what every handler of the image API shares: the configuration, the catalog,
// the stores, identity and policy, the worker pool, the clock and the staging area. Built
// once by ApiService; handlers hold a reference. Thread-safe as its parts are.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "auth/authenticator.h"
#include "auth/policy.h"
#include "auth/property_protections.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "control/config.h"
#include "control/http_types.h"
#include "control/image_json.h"
#include "control/post.h"
#include "control/staging_area.h"
#include "notify/notifier.h"
#include "store/store_set.h"

namespace glint::control {

class IdentityApi;
}  // namespace glint::control
namespace glint::cache {
class ImageCache;
}  // namespace glint::cache
namespace glint::control {

struct ApiContext {
  const Config& config;
  catalog::Catalog& catalog;
  store::StoreSet& stores;
  auth::Authenticator& authenticator;
  Post post;
  IdentityApi* identity = nullptr;    // the built-in Keystone v3 API, when served
  auth::PolicyEngine* policy = nullptr;
  const Clock& clock;
  StagingArea staging;

  int64_t Now() const { return clock.NowMicros(); }
  // Microseconds an upload, import or copy lock lives unrenewed.
  int64_t LockTtl() const { return int64_t{config.upload_lock_ttl} * 1000000; }
  // property_protection_file's rules; null without one.
  std::shared_ptr<const auth::PropertyProtections> protections;
  // Where events go (control/notifications.h); null when notifications are off.
  notify::Notifier* notifier = nullptr;
  // This node's image cache ([DEFAULT] image_cache_dir); null when there is none.
  cache::ImageCache* image_cache = nullptr;

  // How images are shown to `reader`.
  ImageJsonOptions ImageJson(const auth::RequestContext& reader) const {
    return {config.show_image_direct_url, config.show_multiple_locations, stores.multi_store(),
            protections.get(), &reader};
  }
  // The URL clients reach this service at: public_endpoint, else from the request.
  std::string BaseUrl(const HttpRequest& req) const;
};

// One request being handled: the request, who makes it, and the path's parameters.
struct Call {
  HttpRequest& req;
  const auth::RequestContext& ctx;
  std::string id;   // {id}: the image
  std::string arg;  // the second parameter: member, tag, action, store or schema name
};

}  // namespace glint::control
