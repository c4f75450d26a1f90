#include "fs/image_view.h"

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "control/http_client.h"

namespace glint::fs {

using nlohmann::json;

namespace {

ImageEntry FromJson(const json& j) {
  ImageEntry e;
  e.id = j.value("id", "");
  if (j.contains("name") && j["name"].is_string()) e.name = j["name"].get<std::string>();
  if (j.contains("owner") && j["owner"].is_string()) e.owner = j["owner"].get<std::string>();
  e.status = j.value("status", "");
  if (j.contains("size") && j["size"].is_number_integer()) e.size = j["size"].get<int64_t>();
  if (j.contains("updated_at") && j["updated_at"].is_string()) {
    e.updated_at = ParseIso(j["updated_at"].get<std::string>()).value_or(0);
  }
  for (const auto& [k, v] : j.items()) {
    if (k == "self" || k == "file" || k == "schema") continue;
    if (v.is_string()) {
      e.fields[k] = v.get<std::string>();
    } else if (v.is_number() || v.is_boolean()) {
      e.fields[k] = v.dump();
    } else if (v.is_array()) {
      std::string s;
      for (const auto& x : v) {
        if (x.is_string()) s += (s.empty() ? "" : ",") + x.get<std::string>();
      }
      e.fields[k] = s;
    }
  }
  return e;
}

}  // namespace

ImageView::ImageView(std::string api_url, std::string token)
    : url_(std::move(api_url)), token_(std::move(token)) {
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
}
ImageView::~ImageView() = default;

std::unique_ptr<control::HttpClient>& ImageView::Client() {
  if (!client_) {
    auto c = control::HttpClient::Create(url_);
    if (c.ok()) client_ = std::move(c).value();
  }
  return client_;
}

Result<std::optional<std::vector<ImageEntry>>> ImageView::Refresh() {
  std::lock_guard<std::mutex> l(mu_);
  auto& client = Client();
  if (!client) return Status::InvalidArgument("bad API URL " + url_);
  std::vector<ImageEntry> out;
  std::string target = "/v2/images?status=active&limit=1000&sort=created_at:asc";
  std::string first_etag;
  bool first = true;
  while (!target.empty()) {
    control::HeaderList h = {{"X-Auth-Token", token_}};
    if (first && !etag_.empty()) h.emplace_back("If-None-Match", etag_);
    auto r = client->Request("GET", target, h, "");
    if (!r.ok()) {
      client_.reset();  // reconnect next time
      return r.status();
    }
    if (r->status == 304) return std::optional<std::vector<ImageEntry>>();
    if (r->status != 200) {
      return Status::Unavailable("image list answered HTTP " + std::to_string(r->status));
    }
    if (first) first_etag = r->Header("etag");
    first = false;
    json page = json::parse(r->body, nullptr, false);
    if (page.is_discarded() || !page.contains("images")) {
      return Status::Unavailable("image list answered malformed JSON");
    }
    for (const auto& img : page["images"]) out.push_back(FromJson(img));
    target = page.contains("next") && page["next"].is_string() ? page["next"].get<std::string>() : "";
  }
  etag_ = first_etag;
  return std::optional<std::vector<ImageEntry>>(std::move(out));
}

Result<ImageEntry> ImageView::Lookup(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto& client = Client();
  if (!client) return Status::InvalidArgument("bad API URL " + url_);
  auto r = client->Request("GET", "/v2/images/" + id, {{"X-Auth-Token", token_}}, "");
  if (!r.ok()) {
    client_.reset();
    return r.status();
  }
  if (r->status == 404) return Status::NotFound("image " + id + " not found");
  if (r->status == 401 || r->status == 403) return Status::PermissionDenied("image " + id + " not readable");
  if (r->status != 200) return Status::Unavailable("image lookup answered HTTP " + std::to_string(r->status));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return Status::Unavailable("image lookup answered malformed JSON");
  ImageEntry e = FromJson(j);
  if (e.status != "active") return Status::Conflict("image " + id + " is " + e.status);
  return e;
}

}  // namespace glint::fs
