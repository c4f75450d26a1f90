#include "control/stage_host.h"

#include <spdlog/spdlog.h>

#include "client/http_client.h"

namespace glint::control {

std::string SelfReferenceUrl(const Config& config) {
  std::string url = !config.worker_self_reference_url.empty() ? config.worker_self_reference_url
                                                              : config.public_endpoint;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Status RecordStageHost(ApiContext& api, const std::string& id) {
  const std::string self = SelfReferenceUrl(api.config);
  if (self.empty()) return Status::Ok();
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto img = api.catalog.GetImage(id);
    if (!img.ok()) return img.status();
    auto it = img->properties.find(kStageHostProperty);
    if (it != img->properties.end() && it->second == self) return Status::Ok();
    img->properties[kStageHostProperty] = self;
    Status s = api.catalog.UpdateImage(*img);
    if (s.code() != Status::Code::kConflict) return s;
  }
  return Status::Conflict("image " + id + " is being changed concurrently; try again");
}

Status ForgetStageHost(ApiContext& api, const std::string& id) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto img = api.catalog.GetImage(id);
    if (!img.ok()) return img.status().code() == Status::Code::kNotFound ? Status::Ok() : img.status();
    if (img->properties.erase(kStageHostProperty) == 0) return Status::Ok();
    Status s = api.catalog.UpdateImage(*img);
    if (s.code() != Status::Code::kConflict) return s;
  }
  return Status::Conflict("image " + id + " is being changed concurrently; try again");
}

std::optional<std::string> ForeignStageHost(const Config& config, const catalog::ImageRecord& img,
                                            const HttpRequest& req) {
  auto it = img.properties.find(kStageHostProperty);
  if (it == img.properties.end() || it->second.empty() || it->second == SelfReferenceUrl(config)) return std::nullopt;
  if (!req.Header(kForwardedHeader).empty()) {
    spdlog::warn("{}: image {} was staged on {}, but this request was already forwarded by another node; "
                 "answering here", req.request_id, img.id, it->second);
    return std::nullopt;
  }
  return it->second;
}

Result<HttpResponse> ForwardToStageHost(const std::string& host, const std::string& self, const HttpRequest& req) {
  spdlog::info("{}: forwarding {} {} to {}, which has the image staged", req.request_id, req.method, req.path, host);
  client::ClientOptions options;
  options.stall_timeout_ms = 60000;
  auto client = client::HttpClient::Create(host, options);
  if (!client.ok()) return Status::Unavailable("Stage host is unavailable: " + client.status().message());
  client::HeaderList headers = {{"Content-Type", "application/json"},
                                {"X-Auth-Token", std::string(req.Header("x-auth-token"))},
                                {kForwardedHeader, self.empty() ? "unnamed node" : self}};
  auto r = (*client)->Request(req.method, req.path, headers, req.body);
  if (!r.ok()) {
    spdlog::warn("{}: stage host {} unavailable: {}", req.request_id, host, r.status().ToString());
    return Status::Unavailable("Stage host is unavailable");
  }
  HttpResponse out;
  out.status = r->status;
  out.body = r->body;
  if (std::string type = r->Header("content-type"); !type.empty()) out.Set("Content-Type", type);
  return out;
}

}  // namespace glint::control
