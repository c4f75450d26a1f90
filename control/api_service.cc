#include "control/api_service.h"

#include <spdlog/spdlog.h>

#include <atomic>

#include "cache/image_cache.h"
#include "common/ids.h"
#include "control/boot_set_handler.h"
#include "control/cache_handler.h"
#include "control/download_cache.h"
#include "control/data_sweeper.h"
#include "control/manifest_backfill.h"
#include "control/http_errors.h"
#include "control/identity_api.h"
#include "control/image_data_handler.h"
#include "control/image_patch_handler.h"
#include "control/images_handler.h"
#include "control/import_handler.h"
#include "control/locations_handler.h"
#include "control/members_handler.h"
#include "control/metadef_items_handler.h"
#include "control/metadef_namespaces_handler.h"
#include "control/metadef_types_handler.h"
#include "control/router.h"
#include "control/stores_info_handler.h"
#include "control/tags_actions_handler.h"
#include "control/tasks_handler.h"
#include "control/versions_handler.h"

namespace glint::control {

std::string ApiContext::BaseUrl(const HttpRequest& req) const {
  if (!config.public_endpoint.empty()) return config.public_endpoint;
  std::string proto(req.Header("x-forwarded-proto"));
  if (proto.empty()) proto = req.tls ? "https" : "http";
  std::string host(req.Header("host"));
  if (host.empty()) host = config.bind_host + ":" + std::to_string(config.bind_port);
  return proto + "://" + host;
}

namespace {

constexpr int kUploadData = 1, kUploadStage = 2;

// A handler bound to a fixed second parameter (literal routes such as .../deactivate).
Handler WithArg(Handler h, std::string arg) {
  return [h = std::move(h), arg = std::move(arg)](const Call& c) {
    Call bound{c.req, c.ctx, c.id, arg};
    return h(bound);
  };
}

}  // namespace

struct ApiService::Impl {
  Impl(const Config& config, catalog::Catalog& catalog, store::StoreSet& stores, auth::Authenticator& authenticator,
       Post post, IdentityApi* identity, auth::PolicyEngine* policy, const Clock& clock)
      : api{config, catalog, stores, authenticator, std::move(post), identity, policy, clock,
            StagingArea(config.staging_dir), nullptr, nullptr} {
    BuildRoutes();
  }
  ApiContext api;
  std::atomic<bool> draining{false};  // /healthcheck answers 503
  VersionsHandler versions{api};
  ImagesHandler images{api};
  ImagePatchHandler patch{api};
  ImageDataHandler data{api};
  BootSetHandler boot_sets{api};
  MembersHandler members{api};
  TagsActionsHandler tags{api};
  StoresInfoHandler info{api};
  ImportHandler import{api};
  TasksHandler tasks{api};
  LocationsHandler locations{api};
  MetadefNamespacesHandler md_namespaces{api};
  MetadefItemsHandler md_items{api};
  MetadefTypesHandler md_types{api};
  DataSweeper sweeper{api};
  CacheHandler cache_api{api};
  Router router;
  // Last: destroyed first, so its prefetch thread ends while the rest is still here.
  std::unique_ptr<cache::ImageCache> image_cache;

  template <typename H>
  Handler Bind(H* handler, Result<HttpResponse> (H::*method)(const Call&)) {
    return [handler, method](const Call& c) { return (handler->*method)(c); };
  }

  void BuildRoutes() {
    Router& r = router;
    r.Add("GET", "/v2/schemas/{rest}", &VersionsHandler::Schema);
    r.Add("GET", "/v2/info/import", Bind(&info, &StoresInfoHandler::ImportInfo));
    r.Add("GET", "/v2/info/usage", Bind(&info, &StoresInfoHandler::Usage));
    r.Add("GET", "/v2/info/stores", Bind(&info, &StoresInfoHandler::Stores));
    r.Add("GET", "/v2/info/stores/detail", WithArg(Bind(&info, &StoresInfoHandler::Stores), "detail"));
    r.Add("DELETE", "/v2/stores/{arg}/{id}", Bind(&info, &StoresInfoHandler::DeleteFromStore));
    r.Add("GET", "/v2/images", Bind(&images, &ImagesHandler::List));
    r.Add("POST", "/v2/images", Bind(&images, &ImagesHandler::Create));
    r.Add("GET", "/v2/images/{id}", Bind(&images, &ImagesHandler::Show));
    r.Add("PATCH", "/v2/images/{id}", Bind(&patch, &ImagePatchHandler::Patch));
    r.Add("DELETE", "/v2/images/{id}", Bind(&images, &ImagesHandler::Delete));
    r.Add("GET", "/v2/images/{id}/file", Bind(&data, &ImageDataHandler::Download));
    r.Add("GET", "/v2/images/{id}/x-glint-manifest", Bind(&data, &ImageDataHandler::Manifest));
    r.Add("GET", "/v2/images/{id}/x-glint-boot-set", Bind(&boot_sets, &BootSetHandler::Merged));
    r.Add("POST", "/v2/images/{id}/x-glint-boot-set", Bind(&boot_sets, &BootSetHandler::Report));
    r.AddUpload("PUT", "/v2/images/{id}/file", kUploadData);
    r.AddUpload("PUT", "/v2/images/{id}/stage", kUploadStage);
    r.Add("POST", "/v2/images/{id}/import", Bind(&import, &ImportHandler::Import));
    r.Add("GET", "/v2/images/{id}/tasks", Bind(&import, &ImportHandler::Tasks));
    r.Add("GET", "/v2/tasks", Bind(&tasks, &TasksHandler::List));
    r.Add("GET", "/v2/tasks/{id}", Bind(&tasks, &TasksHandler::Show));
    r.Add("POST", "/v2/images/{id}/locations", Bind(&locations, &LocationsHandler::AddByService));
    r.Add("GET", "/v2/images/{id}/locations", Bind(&locations, &LocationsHandler::ListForService));
    r.Add("PUT", "/v2/images/{id}/tags/{arg}", Bind(&tags, &TagsActionsHandler::Tag));
    r.Add("DELETE", "/v2/images/{id}/tags/{arg}", Bind(&tags, &TagsActionsHandler::Tag));
    r.Add("GET", "/v2/images/{id}/members", Bind(&members, &MembersHandler::List));
    r.Add("POST", "/v2/images/{id}/members", Bind(&members, &MembersHandler::Add));
    for (const char* method : {"GET", "PUT", "DELETE"}) {
      r.Add(method, "/v2/images/{id}/members/{arg}", Bind(&members, &MembersHandler::One));
    }
    for (const char* action : {"deactivate", "reactivate"}) {
      r.Add("POST", std::string("/v2/images/{id}/actions/") + action,
            WithArg(Bind(&tags, &TagsActionsHandler::Action), action));
    }
    r.Add("GET", "/v2/cache", Bind(&cache_api, &CacheHandler::List));
    r.Add("DELETE", "/v2/cache", Bind(&cache_api, &CacheHandler::Clear));
    r.Add("PUT", "/v2/cache/{id}", Bind(&cache_api, &CacheHandler::Queue));
    r.Add("DELETE", "/v2/cache/{id}", Bind(&cache_api, &CacheHandler::DeleteOne));
    BuildMetadefRoutes();
  }

  // Glance's /v2/metadefs API.
  void BuildMetadefRoutes() {
    Router& r = router;
    const std::string ns = "/v2/metadefs/namespaces";
    r.Add("GET", ns, Bind(&md_namespaces, &MetadefNamespacesHandler::List));
    r.Add("POST", ns, Bind(&md_namespaces, &MetadefNamespacesHandler::Create));
    r.Add("GET", ns + "/{id}", Bind(&md_namespaces, &MetadefNamespacesHandler::Show));
    r.Add("PUT", ns + "/{id}", Bind(&md_namespaces, &MetadefNamespacesHandler::Update));
    r.Add("DELETE", ns + "/{id}", Bind(&md_namespaces, &MetadefNamespacesHandler::Delete));
    using catalog::MetadefKind;
    MetadefItemsHandler* items = &md_items;
    for (auto [path, kind] : {std::pair{"objects", MetadefKind::kObject},
                              std::pair{"properties", MetadefKind::kProperty}, std::pair{"tags", MetadefKind::kTag}}) {
      const std::string base = ns + "/{id}/" + path;
      const MetadefKind k = kind;
      r.Add("DELETE", base, WithArg(Bind(&md_namespaces, &MetadefNamespacesHandler::DeleteContents), path));
      r.Add("GET", base, [items, k](const Call& c) { return items->List(c, k); });
      r.Add("POST", base, [items, k](const Call& c) { return items->Create(c, k); });
      r.Add("GET", base + "/{arg}", [items, k](const Call& c) { return items->Show(c, k); });
      r.Add("PUT", base + "/{arg}", [items, k](const Call& c) { return items->Update(c, k); });
      r.Add("DELETE", base + "/{arg}", [items, k](const Call& c) { return items->Delete(c, k); });
    }
    r.Add("POST", ns + "/{id}/tags/{arg}", Bind(&md_items, &MetadefItemsHandler::CreateTag));
    r.Add("GET", "/v2/metadefs/resource_types", Bind(&md_types, &MetadefTypesHandler::ListTypes));
    r.Add("GET", ns + "/{id}/resource_types", Bind(&md_types, &MetadefTypesHandler::ListAssociations));
    r.Add("POST", ns + "/{id}/resource_types", Bind(&md_types, &MetadefTypesHandler::Associate));
    r.Add("DELETE", ns + "/{id}/resource_types/{arg}", Bind(&md_types, &MetadefTypesHandler::Dissociate));
  }

  Result<auth::RequestContext> Authenticate(const HttpRequest& req) {
    return api.authenticator.Authenticate({req.Header("x-auth-token"), req.Header("x-service-token")});
  }

  HttpResponse Unauthorized(const HttpRequest& req, const Status& why) const {
    HttpResponse r = ErrorResponse(why);
    if (r.status == 401) r.Set("WWW-Authenticate", "Keystone uri=\"" + AuthUri(req) + "\"");
    return r;
  }

  // Where clients get tokens: the external Keystone, else this server's identity API.
  std::string AuthUri(const HttpRequest& req) const {
    if (!api.config.ks_www_authenticate_uri.empty()) return api.config.ks_www_authenticate_uri;
    if (!api.config.ks_auth_url.empty()) return api.config.ks_auth_url;
    return api.BaseUrl(req) + "/identity/v3";
  }

  // Resolves a path to its route, or to the answer that needs no route.
  std::variant<Router::Match, HttpResponse> Resolve(const HttpRequest& req) const {
    std::string v2_path;
    switch (ClassifyPath(req.path, api.stores.multi_store(), &v2_path, api.image_cache != nullptr)) {
      case PathKind::kVersions: return versions.Versions(req, 200);
      case PathKind::kHealth: return VersionsHandler::Health(draining.load());
      case PathKind::kRoot: return versions.Versions(req, 300);
      case PathKind::kV2Redirect: return versions.RedirectToV2(req);
      case PathKind::kNotFound: return ErrorResponse(Status::NotFound("The resource could not be found: " + req.path));
      case PathKind::kTable: break;
    }
    Router::Match m = router.Find(req.method, v2_path);
    if (m.allowed.empty()) return ErrorResponse(Status::NotFound("The resource could not be found: " + req.path));
    if (!m.route) {
      HttpResponse r = ErrorResponse(
          Status::MethodNotAllowed("The method " + req.method + " is not allowed for this resource."));
      std::string allow;
      for (const auto& a : m.allowed) allow += (allow.empty() ? "" : ", ") + a;
      r.Set("Allow", allow);
      return r;
    }
    return m;
  }

  HttpResponse Dispatch(HttpRequest& req) {
    if (api.identity && IdentityApi::Owns(req.path)) return api.identity->Handle(req, api.BaseUrl(req));
    auto resolved = Resolve(req);
    if (auto* answer = std::get_if<HttpResponse>(&resolved)) return std::move(*answer);
    const Router::Match& m = std::get<Router::Match>(resolved);
    auto ctx = Authenticate(req);
    if (!ctx.ok()) return Unauthorized(req, ctx.status());
    req.user_id = ctx->user_id.value_or("");
    req.project_id = ctx->project_id.value_or("");
    if (!m.route->handler) return ErrorResponse(Status::InvalidArgument("Image data must be sent as a request body"));
    auto r = m.route->handler(Call{req, *ctx, m.id, m.arg});
    return r.ok() ? std::move(r).value() : ErrorResponse(r.status());
  }
};

ApiService::ApiService(const Config& config, catalog::Catalog& catalog, store::StoreSet& stores,
                       auth::Authenticator& authenticator, Post post, IdentityApi* identity,
                       auth::PolicyEngine* policy, const Clock& clock)
    : impl_(std::make_shared<Impl>(config, catalog, stores, authenticator, std::move(post), identity, policy,
                                   clock)) {}

ApiService::~ApiService() = default;

void ApiService::SetNotifier(notify::Notifier* notifier) { impl_->api.notifier = notifier; }

void ApiService::SetImageCache(std::unique_ptr<cache::ImageCache> cache) {
  impl_->image_cache = std::move(cache);
  impl_->api.image_cache = impl_->image_cache.get();
  if (!impl_->image_cache) return;
  ApiContext* api = &impl_->api;
  impl_->image_cache->StartPrefetcher([api](const std::string& id) { return PrefetchImage(*api, id); });
}

void ApiService::SetPropertyProtections(std::shared_ptr<const auth::PropertyProtections> protections) {
  impl_->api.protections = std::move(protections);
}

bool ApiService::IsUpload(const HttpRequest& head) const {
  std::string v2_path;
  const ApiContext& api = impl_->api;
  if (ClassifyPath(head.path, api.stores.multi_store(), &v2_path, api.image_cache != nullptr) != PathKind::kTable) {
    return false;
  }
  auto m = impl_->router.Find(head.method, v2_path);
  return m.route && m.route->upload != 0;
}

void ApiService::AssignRequestId(HttpRequest& req) {
  std::string_view in = req.Header("x-openstack-request-id");
  if (in.size() == 40 && in.substr(0, 4) == "req-" && IsUuid(in.substr(4))) {
    req.request_id = std::string(in);
  } else {
    req.request_id = "req-" + NewUuid();
  }
}

void ApiService::Decorate(const HttpRequest& req, HttpResponse& r) const {
  r.Set("x-openstack-request-id", req.request_id);
}

HttpResponse ApiService::Handle(HttpRequest& req) {
  HttpResponse r;
  try {
    r = impl_->Dispatch(req);
  } catch (const std::exception& e) {
    spdlog::error("{} {} {}: unexpected error: {}", req.request_id, req.method, req.path, e.what());
    r = ErrorResponse(Status::Internal("Internal error while handling the request " + req.request_id));
  } catch (...) {
    spdlog::error("{} {} {}: unexpected error", req.request_id, req.method, req.path);
    r = ErrorResponse(Status::Internal("Internal error while handling the request " + req.request_id));
  }
  Decorate(req, r);
  return r;
}

std::variant<std::shared_ptr<UploadSession>, HttpResponse> ApiService::BeginUpload(
    HttpRequest& head, std::optional<uint64_t> content_length) {
  HttpResponse answer;
  try {
    auto resolved = impl_->Resolve(head);
    if (auto* r = std::get_if<HttpResponse>(&resolved)) {
      answer = std::move(*r);
    } else {
      const Router::Match& m = std::get<Router::Match>(resolved);
      auto ctx = impl_->Authenticate(head);
      if (!ctx.ok()) {
        answer = impl_->Unauthorized(head, ctx.status());
      } else {
        head.user_id = ctx->user_id.value_or("");
        head.project_id = ctx->project_id.value_or("");
        auto session = impl_->data.BeginUpload(Call{head, *ctx, m.id, m.arg}, m.route->upload == kUploadStage,
                                               content_length);
        if (session.ok()) return std::move(session).value();
        answer = ErrorResponse(session.status());
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("{} {} {}: unexpected error: {}", head.request_id, head.method, head.path, e.what());
    answer = ErrorResponse(Status::Internal("Internal error while handling the request " + head.request_id));
  }
  Decorate(head, answer);
  return answer;
}

void ApiService::SetDraining() { impl_->draining = true; }

Status ApiService::RecoverUploads(bool at_startup) { return impl_->sweeper.RecoverUploads(at_startup); }

Result<int> ApiService::SweepStore() { return impl_->sweeper.Sweep(); }

Result<int> ApiService::BackfillManifests(int limit) {
  int done = 0;
  GLINT_RETURN_IF_ERROR(ManifestBackfill(impl_->api.catalog, impl_->api.stores).RunPass(limit, &done));
  return done;
}

}  // namespace glint::control
