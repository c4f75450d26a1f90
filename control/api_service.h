// ApiService: the Glance Image API v2 as plain functions from request to response. It
// wires the pieces together: the route table (router.h), the resource handlers
// (*_handler.h), the one Status-to-HTTP mapping (http_errors.h) and the recovery sweeps
// (data_sweeper.h); an exception escaping a handler becomes a 500 here.
//
// The network layer (http_server.cc) parses a request's head, asks IsUpload() whether
// its body must stream, then either reads the (small) body and calls Handle(), or calls
// BeginUpload() and feeds the returned UploadSession. Handle() and BeginUpload() block on
// the catalog and stores, so the server calls them on worker threads only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "auth/authenticator.h"
#include "auth/policy.h"
#include "auth/property_protections.h"
#include "catalog/catalog.h"
#include "control/config.h"
#include "control/http_types.h"
#include "common/clock.h"
#include "control/post.h"
#include "control/upload_session.h"
#include "store/backend.h"
#include "store/store_set.h"
#include "notify/notifier.h"

namespace glint::cache {
class ImageCache;
}  // namespace glint::cache

namespace glint::control {

class ApiService {
 public:
  // `identity` (optional) serves the Keystone v3 API under /identity.
  // `policy` (optional) is consulted for every image, member, tag, action and data call.
  ApiService(const Config& config, catalog::Catalog& catalog, store::StoreSet& stores,
             auth::Authenticator& authenticator, Post post, class IdentityApi* identity = nullptr,
             auth::PolicyEngine* policy = nullptr, const Clock& clock = SystemClock());
  ~ApiService();

  // Applies property_protection_file's rules from now on (set before serving).
  void SetPropertyProtections(std::shared_ptr<const auth::PropertyProtections> protections);
  // Events go to `notifier` (it outlives this service); null: none are sent.
  void SetNotifier(notify::Notifier* notifier);

  // Serves the image cache API from `cache` and, when config says so, downloads through
  // it; starts its prefetcher. The service owns it and stops it before anything else.
  void SetImageCache(std::unique_ptr<cache::ImageCache> cache);

  // From now on /healthcheck answers 503, so that a load balancer takes this node out,
  // while every other request is still served: the first step of a graceful drain.
  void SetDraining();

  // True for PUT /v2/images/{id}/file: its body streams into an UploadSession.
  bool IsUpload(const HttpRequest& head) const;
  // Routes a request whose body has been read. Adds request id and common headers.
  HttpResponse Handle(HttpRequest& request);
  // Authenticates and validates an upload and takes its catalog lock. Returns the session
  // to feed, or the response to send instead (already decorated).
  std::variant<std::shared_ptr<UploadSession>, HttpResponse> BeginUpload(
      HttpRequest& head, std::optional<uint64_t> content_length);
  // Adds the headers every response carries (request id, ...).
  void Decorate(const HttpRequest& request, HttpResponse& response) const;
  // Assigns request.request_id (honouring a well-formed incoming one).
  static void AssignRequestId(HttpRequest& request);

  // Catalog recovery: releases expired upload locks (at startup also every lock this node
  // held: it restarted), so those images are queued again. Fast; runs before serving.
  Status RecoverUploads(bool at_startup);
  // Store sweep: finishes deletes cut short by a crash, removes partial uploads that no
  // live lock owns and committed data no catalog row references. May be slow (an RBD
  // image with a dead client's lock); safe to run while serving, on any number of nodes.
  // Returns how many objects are debris but could not be removed yet (an RBD image a dead
  // client still watches until its watch times out): worth another sweep soon.
  Result<int> SweepStore();
  // One pass of the chunk-manifest backfill (control/manifest_backfill.h): up to `limit`
  // images without a manifest get one. Returns how many did. Blocks; any thread.
  Result<int> BackfillManifests(int limit);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace glint::control
