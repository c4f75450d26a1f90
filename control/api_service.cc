#include "control/api_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "common/digest.h"
#include "common/ids.h"
#include "control/http_errors.h"
#include "control/identity_api.h"
#include "control/json_writer.h"
#include "control/schemas.h"
#include "control/upload.h"

namespace glint::control {

using nlohmann::json;
using catalog::ImageRecord;

namespace {

const std::set<std::string> kDiskFormats = {"ami", "ari",   "aki", "vhd", "vhdx", "vmdk",
                                            "raw", "qcow2", "vdi", "iso", "ploop"};
const std::set<std::string> kContainerFormats = {"ami", "ari", "aki",    "bare",
                                                 "ovf", "ova", "docker", "compressed"};
const std::set<std::string> kVisibilities = {"community", "public", "private", "shared"};
// Glance's split of an image's keys.
const std::set<std::string> kDisallowed = {"direct_url", "self", "file", "schema", "stores"};
const std::set<std::string> kReadOnly = {"created_at", "updated_at", "status", "checksum",
                                         "size",       "virtual_size", "direct_url", "self",
                                         "file",       "schema",   "id", "os_hash_algo",
                                         "os_hash_value"};
const std::set<std::string> kReserved = {"location", "deleted", "deleted_at"};
const std::set<std::string> kBase = {"checksum", "created_at", "container_format", "disk_format",
                                     "id",       "min_disk",   "min_ram",  "name",  "size",
                                     "virtual_size", "status", "tags",     "owner", "updated_at",
                                     "visibility", "protected", "os_hidden", "os_hash_algo",
                                     "os_hash_value", "locations", "direct_url", "self", "file",
                                     "schema", "stores"};
const std::set<std::string> kSortKeys = {"name", "status", "container_format", "disk_format",
                                         "size", "id",     "created_at",       "updated_at"};


Status BadSchema(const std::string& why) {
  return Status::InvalidArgument("Provided object does not match schema 'image': " + why);
}

bool IsReservedNamespace(const std::string& key) { return key.rfind("os_glance", 0) == 0; }

// Applies one attribute from a create body or a patch to the record, validating it
// against the image schema.
Status SetAttribute(ImageRecord& img, const std::string& key, const json& v) {
  auto opt_string = [&](std::optional<std::string>* out, size_t max,
                        const std::set<std::string>* allowed) -> Status {
    if (v.is_null()) {
      out->reset();
      return Status::Ok();
    }
    if (!v.is_string()) return BadSchema(v.dump() + " is not of type 'null', 'string' for " + key);
    std::string s = v.get<std::string>();
    if (s.size() > max) return BadSchema(key + " is too long (max " + std::to_string(max) + ")");
    if (allowed && !allowed->count(s)) {
      return BadSchema("'" + s + "' is not one of the allowed values for " + key);
    }
    *out = s;
    return Status::Ok();
  };
  auto non_negative = [&](int64_t* out) -> Status {
    if (!v.is_number_integer()) return BadSchema(v.dump() + " is not of type 'integer' for " + key);
    int64_t n = v.get<int64_t>();
    if (n < 0) return BadSchema(std::to_string(n) + " is less than the minimum of 0 for " + key);
    if (n > 2147483647) return BadSchema(std::to_string(n) + " is greater than the maximum of 2147483647 for " + key);
    *out = n;
    return Status::Ok();
  };
  auto boolean = [&](bool* out) -> Status {
    if (!v.is_boolean()) return BadSchema(v.dump() + " is not of type 'boolean' for " + key);
    *out = v.get<bool>();
    return Status::Ok();
  };
  if (key == "name") return opt_string(&img.name, 255, nullptr);
  if (key == "disk_format") return opt_string(&img.disk_format, 255, &kDiskFormats);
  if (key == "container_format") return opt_string(&img.container_format, 255, &kContainerFormats);
  if (key == "owner") return opt_string(&img.owner, 255, nullptr);
  if (key == "min_disk") return non_negative(&img.min_disk);
  if (key == "min_ram") return non_negative(&img.min_ram);
  if (key == "protected") return boolean(&img.is_protected);
  if (key == "os_hidden") return boolean(&img.os_hidden);
  if (key == "visibility") {
    if (!v.is_string() || !kVisibilities.count(v.get<std::string>())) {
      return BadSchema(v.dump() + " is not one of ['community', 'public', 'private', 'shared']");
    }
    img.visibility = v.get<std::string>();
    return Status::Ok();
  }
  if (key == "tags") {
    if (!v.is_array()) return BadSchema(v.dump() + " is not of type 'array' for tags");
    std::set<std::string> tags;
    for (const auto& t : v) {
      if (!t.is_string()) return BadSchema(t.dump() + " is not of type 'string' in tags");
      std::string s = t.get<std::string>();
      if (s.size() > 255) return BadSchema("tag is too long (max 255)");
      tags.insert(s);
    }
    img.tags.assign(tags.begin(), tags.end());
    return Status::Ok();
  }
  if (key == "id") {
    if (!v.is_string() || !IsUuid(v.get<std::string>())) {
      return BadSchema(v.dump() + " does not match the UUID pattern for id");
    }
    img.id = CanonicalUuid(v.get<std::string>());
    return Status::Ok();
  }
  // A custom property: string values, keys of at most 255 characters.
  if (key.size() > 255) return BadSchema("property name is too long (max 255): " + key.substr(0, 40) + "...");
  if (key.empty()) return BadSchema("empty property name");
  if (key == "kernel_id" || key == "ramdisk_id") {
    if (v.is_null()) {
      img.properties.erase(key);
      return Status::Ok();
    }
    if (!v.is_string() || !IsUuid(v.get<std::string>())) {
      return BadSchema(v.dump() + " does not match the UUID pattern for " + key);
    }
  }
  if (key == "cinder_encryption_key_deletion_policy" && v.is_string() &&
      v != "on_image_deletion" && v != "do_not_delete") {
    return BadSchema(v.dump() + " is not one of ['on_image_deletion', 'do_not_delete']");
  }
  if (!v.is_string()) return BadSchema(v.dump() + " is not of type 'string' for " + key);
  img.properties[key] = v.get<std::string>();
  return Status::Ok();
}

struct Route {
  enum Kind {
    kNone, kRoot, kVersions, kHealth, kSchema, kImages, kImage, kImageFile, kImageTag,
    kImageAction, kInfoImport, kInfoUsage, kInfoStores, kStoreImage, kImageMembers, kImageMember,
    kImageStage, kImageImport, kImageTasks,
    kV2Redirect
  } kind = kNone;
  std::string id, arg;
  std::vector<std::string> methods;  // allowed methods for 405
};

// Glance's version negotiation: a path must start with a version Glance lists (v2,
// v2.0-v2.7, v2.9, v2.15; with multi-store also v2.8, v2.10-v2.13), which is then served
// as v2. Returns false for anything else (Glance answers those with the version list).
bool StripVersion(const std::string& path, bool multi_store, std::string* v2_path) {
  size_t end = path.find('/', 1);
  std::string first = path.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  static const std::set<std::string> kAlways = {"v2",   "v2.0", "v2.1", "v2.2", "v2.3", "v2.4",
                                                "v2.5", "v2.6", "v2.7", "v2.9", "v2.15"};
  static const std::set<std::string> kMultiStore = {"v2.8", "v2.10", "v2.11", "v2.12", "v2.13"};
  if (!kAlways.count(first) && !(multi_store && kMultiStore.count(first))) return false;
  *v2_path = "/v2" + (end == std::string::npos ? std::string() : path.substr(end));
  return true;
}

std::vector<std::string> Split(const std::string& path) {
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

Route Match(const std::string& raw_path, bool multi_store) {
  Route r;
  if (raw_path == "/versions") return {Route::kVersions, "", "", {"GET"}};
  if (raw_path == "/healthcheck") return {Route::kHealth, "", "", {"GET", "HEAD"}};
  std::string path;
  // Every other path without a listed version: 300 and the version list, any method.
  if (!StripVersion(raw_path, multi_store, &path)) return {Route::kRoot, "", "", {}};
  if (path == "/v2") return {Route::kV2Redirect, "", "", {"GET"}};
  if (path.size() > 1 && path.back() == '/') return r;
  auto seg = Split(path);
  if (seg.empty() || seg[0] != "v2") return r;
  if (seg.size() >= 3 && seg[1] == "schemas") {
    std::string name;
    for (size_t i = 2; i < seg.size(); ++i) name += (i > 2 ? "/" : "") + seg[i];
    return {Route::kSchema, "", name, {"GET"}};
  }
  if (seg.size() == 3 && seg[1] == "info" && seg[2] == "import") {
    return {Route::kInfoImport, "", "", {"GET"}};
  }
  if (seg.size() == 3 && seg[1] == "info" && seg[2] == "usage") return {Route::kInfoUsage, "", "", {"GET"}};
  if (seg.size() >= 3 && seg[1] == "info" && seg[2] == "stores") {
    if (seg.size() == 3) return {Route::kInfoStores, "", "", {"GET"}};
    if (seg.size() == 4 && seg[3] == "detail") return {Route::kInfoStores, "", "detail", {"GET"}};
  }
  if (seg.size() == 4 && seg[1] == "stores") return {Route::kStoreImage, seg[3], seg[2], {"DELETE"}};
  if (seg.size() < 2 || seg[1] != "images") return r;
  if (seg.size() == 2) return {Route::kImages, "", "", {"GET", "POST"}};
  const std::string& id = seg[2];
  if (seg.size() == 3) return {Route::kImage, id, "", {"GET", "PATCH", "DELETE"}};
  if (seg.size() == 4 && seg[3] == "file") return {Route::kImageFile, id, "", {"GET", "PUT"}};
  if (seg.size() == 4 && seg[3] == "stage") return {Route::kImageStage, id, "", {"PUT"}};
  if (seg.size() == 4 && seg[3] == "import") return {Route::kImageImport, id, "", {"POST"}};
  if (seg.size() == 4 && seg[3] == "tasks") return {Route::kImageTasks, id, "", {"GET"}};
  if (seg.size() == 5 && seg[3] == "tags") return {Route::kImageTag, id, seg[4], {"PUT", "DELETE"}};
  if (seg.size() == 4 && seg[3] == "members") return {Route::kImageMembers, id, "", {"GET", "POST"}};
  if (seg.size() == 5 && seg[3] == "members") {
    return {Route::kImageMember, id, seg[4], {"GET", "PUT", "DELETE"}};
  }
  if (seg.size() == 5 && seg[3] == "actions" &&
      (seg[4] == "deactivate" || seg[4] == "reactivate")) {
    return {Route::kImageAction, id, seg[4], {"POST"}};
  }
  return r;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

HttpResponse JsonResponse(int status, const json& body,
                          const char* content_type = "application/json") {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  r.Set("Content-Type", content_type);
  return r;
}

std::optional<bool> ParseBool(const std::string& s) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), ::tolower);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

// Splits "in:a,b,\"c,d\"" values the way Glance's split_filter_value_for_quotes does.
std::vector<std::string> SplitInValues(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : s) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

// "op:value" -> (op, value); no colon, or an ISO time (which has colons), means "eq".
std::pair<std::string, std::string> SplitFilterOp(const std::string& v) {
  size_t colon = v.find(':');
  if (colon == std::string::npos || ParseIso(v)) return {"eq", v};
  return {v.substr(0, colon), v.substr(colon + 1)};
}

}  // namespace

struct ApiService::Impl {
  const Config& config;
  catalog::Catalog& catalog;
  store::StoreSet& stores;
  auth::Authenticator& authenticator;
  Post post;
  IdentityApi* identity = nullptr;
  auth::PolicyEngine* policy = nullptr;
  std::unique_ptr<store::Backend> staging_;  // glance-direct staging area (a file store)
  std::mutex staging_mu_;

  // Opened on first use, and again after a failure (a directory that was not there yet).
  store::Backend* Staging() {
    std::lock_guard<std::mutex> l(staging_mu_);
    if (!staging_) {
      std::error_code ec;
      std::filesystem::create_directories(config.staging_dir, ec);
      auto b = store::NewFileBackend("os_glance_staging_store", config.staging_dir);
      if (b.ok()) {
        staging_ = std::move(b).value();
      } else {
        spdlog::error("staging area {}: {}", config.staging_dir, b.status().ToString());
      }
    }
    return staging_.get();
  }

  // Glance's policy target for an image: project_id/owner are the image's owner;
  // member_id is the caller's project when it is a member of the (shared) image.
  auth::PolicyTarget Target(const auth::RequestContext& ctx, const ImageRecord& img,
                            const std::optional<std::string>& member = std::nullopt) {
    auth::PolicyTarget t = {{"visibility", img.visibility}};
    if (img.owner) {
      t["project_id"] = *img.owner;
      t["owner"] = *img.owner;
    }
    if (member) {
      t["member_id"] = *member;
    } else if (ctx.project_id && img.visibility == "shared" &&
               catalog.GetMember(img.id, *ctx.project_id).ok()) {
      t["member_id"] = *ctx.project_id;
    }
    return t;
  }
  Status Policy(const std::string& action, const auth::RequestContext& ctx, const auth::PolicyTarget& t) {
    return policy ? policy->Enforce(action, ctx, t) : Status::Ok();
  }
  Status PolicyOn(const std::string& action, const auth::RequestContext& ctx, const ImageRecord& img) {
    return policy ? policy->Enforce(action, ctx, Target(ctx, img)) : Status::Ok();
  }

  // Where clients get tokens: the external Keystone, else this server's identity API.
  std::string AuthUri(const HttpRequest& req) const {
    if (!config.ks_www_authenticate_uri.empty()) return config.ks_www_authenticate_uri;
    if (!config.ks_auth_url.empty()) return config.ks_auth_url;
    return BaseUrl(req) + "/identity/v3";
  }

  std::string BaseUrl(const HttpRequest& req) const {
    if (!config.public_endpoint.empty()) return config.public_endpoint;
    std::string proto(req.Header("x-forwarded-proto"));
    if (proto.empty()) proto = req.tls ? "https" : "http";
    std::string host(req.Header("host"));
    if (host.empty()) host = config.bind_host + ":" + std::to_string(config.bind_port);
    return proto + "://" + host;
  }

  // Writes an image record the way Glance shows it. Custom properties become top-level
  // keys; invalid UTF-8 in stored values is passed through as stored.
  void WriteImage(JsonWriter& w, const ImageRecord& img) const {
    w.BeginObject();
    w.Key("id"); w.String(img.id);
    w.Key("name"); w.OptString(img.name);
    w.Key("status"); w.String(img.status);
    w.Key("visibility"); w.String(img.visibility);
    w.Key("protected"); w.Bool(img.is_protected);
    w.Key("os_hidden"); w.Bool(img.os_hidden);
    w.Key("checksum"); w.OptString(img.checksum);
    w.Key("os_hash_algo"); w.OptString(img.os_hash_algo);
    w.Key("os_hash_value"); w.OptString(img.os_hash_value);
    w.Key("owner"); w.OptString(img.owner);
    w.Key("size"); w.OptInt(img.size);
    w.Key("virtual_size"); w.OptInt(img.virtual_size);
    w.Key("min_ram"); w.Int(img.min_ram);
    w.Key("min_disk"); w.Int(img.min_disk);
    w.Key("disk_format"); w.OptString(img.disk_format);
    w.Key("container_format"); w.OptString(img.container_format);
    w.Key("created_at"); w.String(FormatIsoSeconds(img.created_at));
    w.Key("updated_at"); w.String(FormatIsoSeconds(img.updated_at));
    w.Key("tags");
    w.BeginArray();
    for (const auto& t : img.tags) w.String(t);
    w.EndArray();
    std::string self = "/v2/images/" + img.id;
    w.Key("self"); w.String(self);
    w.Key("file"); w.String(self + "/file");
    w.Key("schema"); w.String("/v2/schemas/image");
    for (const auto& [k, v] : img.properties) {
      w.Key(k);
      w.String(v);
    }
    if (config.show_image_direct_url && !img.locations.empty()) {
      w.Key("direct_url");
      w.String(img.locations.front().url);
    }
    if (config.show_multiple_locations) {
      w.Key("locations");
      w.BeginArray();
      for (const auto& loc : img.locations) {
        w.BeginObject();
        w.Key("url");
        w.String(loc.url);
        w.Key("metadata");
        w.Raw(loc.metadata_json.empty() ? "{}" : loc.metadata_json);
        w.EndObject();
      }
      w.EndArray();
    }
    if (stores.multi_store()) {  // Glance's `stores`: where the data is, comma-separated
      std::string ids;
      for (const auto& loc : img.locations) {
        if (!loc.store.empty()) ids += (ids.empty() ? "" : ",") + loc.store;
      }
      if (!ids.empty()) {
        w.Key("stores");
        w.String(ids);
      }
    }
    w.EndObject();
  }

  // The locations API (show_multiple_locations): add /locations/-|N, remove /locations/N,
  // replace /locations. Removing a location never deletes data (it may be shared).
  HttpResponse PatchLocations(const auth::RequestContext& ctx, const std::string& id, const json& ops) {
    if (!config.show_multiple_locations) {
      return ErrorResponse(403, "It's not allowed to update locations if locations are invisible.");
    }
    for (const auto& op : ops) {
      auto img = Visible(ctx, id);
      if (!img.ok()) return ErrorResponse(img.status());
      if (Status may = MayModify(ctx, *img); !may.ok()) return ErrorResponse(may);
      std::string kind = op.value("op", "");
      std::string path = op["path"].get<std::string>();
      if (img->status != catalog::kQueued && img->status != catalog::kActive) {
        return ErrorResponse(409, "It's not allowed to change locations if image status is " + img->status + ".");
      }
      auto check_location = [&](const json& v, catalog::ImageLocation* out) -> Status {
        if (!v.is_object() || !v.contains("url") || !v["url"].is_string() ||
            (v.contains("metadata") && !v["metadata"].is_object())) {
          return Status::InvalidArgument("A location is {\"url\": ..., \"metadata\": {...}}");
        }
        out->url = v["url"].get<std::string>();
        out->metadata_json = v.value("metadata", json::object()).dump();
        store::Backend* owner = stores.Owner(out->url);
        if (!owner) return Status::InvalidArgument("Invalid location: " + out->url);
        out->store = owner->id();
        return Status::Ok();
      };
      if (kind == "add" && (path == "/locations/-" || path.rfind("/locations/", 0) == 0)) {
        if (Status p = PolicyOn("set_image_location", ctx, *img); !p.ok()) return ErrorResponse(p);
        catalog::ImageLocation loc;
        if (Status s = check_location(op.value("value", json()), &loc); !s.ok()) return ErrorResponse(s);
        for (const auto& l : img->locations) {
          if (l.url == loc.url) return ErrorResponse(400, "Duplicate location: " + loc.url);
        }
        if (static_cast<int>(img->locations.size()) >= config.image_location_quota) {
          return ErrorResponse(413, "Maximum number of locations exceeded (" +
                                        std::to_string(config.image_location_quota) + ")");
        }
        std::optional<ImageRecord> activate;
        if (img->status == catalog::kQueued) {
          // The data exists already: the image becomes active with its facts.
          auto reader = stores.Owner(loc.url)->Open(loc.url);
          if (!reader.ok()) return ErrorResponse(400, "Cannot read location " + loc.url + ": " + reader.status().message());
          ImageRecord facts;
          facts.size = (*reader)->size();
          const json& vd = op["value"].value("validation_data", json::object());
          if (vd.contains("checksum")) facts.checksum = vd["checksum"].get<std::string>();
          if (vd.contains("os_hash_algo")) facts.os_hash_algo = vd["os_hash_algo"].get<std::string>();
          if (vd.contains("os_hash_value")) facts.os_hash_value = vd["os_hash_value"].get<std::string>();
          if (img->disk_format == std::optional<std::string>("raw")) facts.virtual_size = facts.size;
          activate = facts;
        }
        if (Status s = catalog.AddLocation(img->id, loc, activate); !s.ok()) return ErrorResponse(s);
      } else if (kind == "remove" && path.rfind("/locations/", 0) == 0) {
        if (Status p = PolicyOn("delete_image_location", ctx, *img); !p.ok()) return ErrorResponse(p);
        size_t index = 0;
        try {
          index = std::stoul(path.substr(std::string("/locations/").size()));
        } catch (const std::exception&) {
          return ErrorResponse(400, "Invalid location index in " + path);
        }
        if (index >= img->locations.size()) return ErrorResponse(400, "Invalid location index " + std::to_string(index));
        if (img->locations.size() == 1) return ErrorResponse(403, "Cannot remove last location in the image.");
        if (Status s = catalog.RemoveLocation(img->id, img->locations[index].url); !s.ok()) return ErrorResponse(s);
      } else if (kind == "replace" && path == "/locations") {
        if (Status p = PolicyOn("set_image_location", ctx, *img); !p.ok()) return ErrorResponse(p);
        const json& v = op.value("value", json());
        if (!v.is_array()) return ErrorResponse(400, "Locations must be a list.");
        if (v.empty()) return ErrorResponse(403, "Cannot set locations to empty list.");
        if (static_cast<int>(v.size()) > config.image_location_quota) {
          return ErrorResponse(413, "Maximum number of locations exceeded");
        }
        if (img->status != catalog::kActive) return ErrorResponse(409, "Locations of a queued image are added, not replaced.");
        std::vector<catalog::ImageLocation> locs;
        for (const auto& item : v) {
          catalog::ImageLocation loc;
          if (Status s = check_location(item, &loc); !s.ok()) return ErrorResponse(s);
          locs.push_back(loc);
        }
        if (Status s = catalog.ReplaceLocations(img->id, locs); !s.ok()) return ErrorResponse(s);
      } else {
        return ErrorResponse(400, "Invalid JSON pointer for this resource: '" + path + "'");
      }
    }
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    return ImageResponse(200, *img);
  }

  HttpResponse StoresInfo(const auth::RequestContext& ctx, bool detail) {
    if (!stores.multi_store()) return ErrorResponse(404, "Multi backend is not supported at this site.");
    if (detail) {
      if (Status p = Policy("stores_info_detail", ctx, {}); !p.ok()) return ErrorResponse(p);
    }
    json list = json::array();
    for (const auto& e : stores.entries()) {
      json j = {{"id", e.id}};
      if (e.is_default) j["default"] = true;
      if (detail) {
        j["type"] = e.type;
        j["properties"] = json::object();
      }
      list.push_back(j);
    }
    return JsonResponse(200, {{"stores", list}});
  }

  // DELETE /v2/stores/{store}/{image}: drop the image's data from one store of several.
  HttpResponse DeleteFromStore(const auth::RequestContext& ctx, const std::string& store_id,
                               const std::string& id) {
    if (!stores.multi_store()) return ErrorResponse(404, "Multi backend is not supported at this site.");
    store::Backend* backend = stores.Find(store_id);
    if (!backend) return ErrorResponse(404, "Unknown store: " + store_id);
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    if (Status may = MayModify(ctx, *img); !may.ok()) return ErrorResponse(may);
    if (Status p = PolicyOn("delete_image_location", ctx, *img); !p.ok()) return ErrorResponse(p);
    if (img->status != catalog::kActive) {
      return ErrorResponse(409, "It's not allowed to remove image data from store if image status is " + img->status);
    }
    const catalog::ImageLocation* found = nullptr;
    for (const auto& loc : img->locations) {
      if (backend->OwnsLocation(loc.url)) found = &loc;
    }
    if (!found) return ErrorResponse(404, "Image " + img->id + " is not in store " + store_id);
    if (img->locations.size() == 1) {
      return ErrorResponse(403, "Cannot delete image data from the only store containing it. "
                                "Consider deleting the image instead.");
    }
    if (Status s = backend->CheckDeletable(found->url); !s.ok()) return ErrorResponse(s);
    std::string url = found->url;
    if (Status s = catalog.RemoveLocation(img->id, url); !s.ok()) return ErrorResponse(s);
    if (Status s = backend->Delete(url); !s.ok()) spdlog::error("image {}: {}", img->id, s.ToString());
    HttpResponse r;
    r.status = 204;
    return r;
  }

  HttpResponse ImageResponse(int status, const ImageRecord& img) const {
    HttpResponse r;
    r.status = status;
    JsonWriter w(r.body);
    WriteImage(w, img);
    r.Set("Content-Type", "application/json");
    return r;
  }

  json VersionsJson(const HttpRequest& req) const {
    std::string base = BaseUrl(req);
    json versions = json::array();
    // The versions Glance 25 lists: multi-store adds 2.8 and 2.10-2.13 (no image cache,
    // so 2.14 and 2.16 never).
    std::vector<int> minors = {15};
    if (stores.multi_store()) minors.insert(minors.end(), {13, 12, 11, 10});
    minors.push_back(9);
    if (stores.multi_store()) minors.push_back(8);
    minors.insert(minors.end(), {7, 6, 5, 4, 3, 2, 1, 0});
    for (int minor : minors) {
      std::string status = minor == 15 ? "CURRENT" : "SUPPORTED";
      versions.push_back({{"id", "v2." + std::to_string(minor)},
                          {"status", status},
                          {"links", {{{"rel", "self"}, {"href", base + "/v2/"}}}}});
    }
    return {{"versions", versions}};
  }

  Result<auth::RequestContext> Authenticate(const HttpRequest& req) {
    return authenticator.Authenticate(
        {req.Header("x-auth-token"), req.Header("x-service-token")});
  }

  // Loads an image the caller may see; NotFound otherwise (never reveals existence).
  Result<ImageRecord> Visible(const auth::RequestContext& ctx, const std::string& id) {
    if (!IsUuid(id)) return Status::NotFound("No image found with ID " + id);
    auto img = catalog.GetImage(id);  // ids are case-sensitive, as in Glance
    if (!img.ok()) return img;
    bool visible = ctx.is_admin || img->visibility == "public" || img->visibility == "community" ||
                   (ctx.project_id && img->owner == ctx.project_id) ||
                   // a member may see a shared image by id whatever its member status
                   (ctx.project_id && img->visibility == "shared" &&
                    catalog.GetMember(img->id, *ctx.project_id).ok());
    // An image the caller may not get is reported as missing, never as forbidden.
    if (!visible || !PolicyOn("get_image", ctx, *img).ok()) {
      return Status::NotFound("No image found with ID " + id);
    }
    return img;
  }

  // Quotas (Glance's unified-limits resources; sizes in MiB). Only project-scoped
  // callers count against a project.
  auth::IdentityStore* Limits() const {
    return config.use_keystone_limits && identity ? &identity->store() : nullptr;
  }
  static int64_t UsageOf(const catalog::ProjectUsage& u, const std::string& resource) {
    if (resource == "image_count_total") return u.image_count_total;
    if (resource == "image_count_uploading") return u.image_count_uploading;
    if (resource == "image_size_total") return u.image_size_total / (1 << 20);
    return 0;  // image_stage_total: no staging area yet
  }
  // TooLarge when usage + delta exceeds the limit; `headroom` gets the bytes left under
  // image_size_total (or -1 when unlimited).
  Status CheckQuota(const auth::RequestContext& ctx, const std::string& resource, int64_t delta,
                    int64_t* headroom = nullptr) {
    if (headroom) *headroom = -1;
    auth::IdentityStore* limits = Limits();
    if (!limits || !ctx.project_id) return Status::Ok();
    auto limit = limits->GetLimit(*ctx.project_id, resource);
    if (!limit.ok()) return limit.status();
    if (*limit < 0) return Status::Ok();
    auto usage = catalog.Usage(*ctx.project_id);
    if (!usage.ok()) return usage.status();
    int64_t used = UsageOf(*usage, resource);
    if (headroom && resource == "image_size_total") {
      *headroom = std::max<int64_t>(0, *limit * (1 << 20) - usage->image_size_total);
    }
    if (used + delta > *limit) {
      return Status::TooLarge("Resource " + resource + " is over limit of " + std::to_string(*limit) +
                              " due to current usage " + std::to_string(used) + " and delta " +
                              std::to_string(delta));
    }
    return Status::Ok();
  }

  HttpResponse UsageInfo(const auth::RequestContext& ctx) {
    json usage = json::object();
    auth::IdentityStore* limits = Limits();
    if (limits && ctx.project_id) {
      auto u = catalog.Usage(*ctx.project_id);
      if (!u.ok()) return ErrorResponse(u.status());
      for (const char* r : {"image_size_total", "image_stage_total", "image_count_total", "image_count_uploading"}) {
        auto limit = limits->GetLimit(*ctx.project_id, r);
        if (!limit.ok()) return ErrorResponse(limit.status());
        usage[r] = {{"limit", *limit}, {"usage", UsageOf(*u, r)}};
      }
    }
    return JsonResponse(200, {{"usage", usage}});
  }

  // Glance's ownership rule for changes: the owning project or an admin.
  static Status MayModify(const auth::RequestContext& ctx, const ImageRecord& img) {
    if (ctx.is_admin || (ctx.project_id && img.owner == ctx.project_id)) return Status::Ok();
    return Status::PermissionDenied("You are not permitted to modify image " + img.id + ".");
  }
  Status MaySetVisibility(const auth::RequestContext& ctx, const std::string& visibility,
                          const ImageRecord& img) {
    if (visibility == "public") {
      if (policy) return PolicyOn("publicize_image", ctx, img);
      if (!ctx.is_admin) {
        return Status::PermissionDenied("You are not authorized to complete publicize_image action.");
      }
    }
    if (visibility == "community") return PolicyOn("communitize_image", ctx, img);
    return Status::Ok();
  }

  static json MemberJson(const catalog::ImageMember& m) {
    return {{"created_at", FormatIsoSeconds(m.created_at)}, {"updated_at", FormatIsoSeconds(m.updated_at)},
            {"image_id", m.image_id}, {"member_id", m.member}, {"status", m.status},
            {"schema", "/v2/schemas/member"}};
  }

  HttpResponse ListMembers(const auth::RequestContext& ctx, const std::string& id) {
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    if (img->visibility != "shared") return ErrorResponse(403, "Only shared images have members.");
    if (Status p = PolicyOn("get_members", ctx, *img); !p.ok()) return ErrorResponse(p);
    auto members = catalog.ListMembers(img->id);
    if (!members.ok()) return ErrorResponse(members.status());
    json list = json::array();
    bool owner = MayModify(ctx, *img).ok();
    for (const auto& m : *members) {
      if (owner || (ctx.project_id && m.member == *ctx.project_id)) list.push_back(MemberJson(m));
    }
    return JsonResponse(200, {{"members", list}, {"schema", "/v2/schemas/members"}});
  }

  HttpResponse AddMember(const auth::RequestContext& ctx, const HttpRequest& req, const std::string& id) {
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    Status may = MayModify(ctx, *img);
    if (!may.ok()) return ErrorResponse(403, "You are not permitted to add members to image " + img->id + ".");
    if (Status p = PolicyOn("add_member", ctx, *img); !p.ok()) return ErrorResponse(p);
    if (img->visibility != "shared") {
      return ErrorResponse(403, "Image " + img->id + " is not shared: only shared images have members.");
    }
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("member") || !body["member"].is_string() ||
        body["member"].get<std::string>().empty() || body["member"].get<std::string>().size() > 255) {
      return ErrorResponse(400, "Request body must be {\"member\": \"<project id>\"}.");
    }
    auto existing = catalog.ListMembers(img->id);
    if (!existing.ok()) return ErrorResponse(existing.status());
    if (static_cast<int>(existing->size()) >= config.image_member_quota) {
      return ErrorResponse(413, "Maximum number of image members exceeded (" +
                                    std::to_string(config.image_member_quota) + ")");
    }
    catalog::ImageMember m{img->id, body["member"].get<std::string>(), "pending", NowMicros(), NowMicros()};
    Status s = catalog.AddMember(m);
    if (!s.ok()) return ErrorResponse(s);
    return JsonResponse(200, MemberJson(m));
  }

  HttpResponse Member(const auth::RequestContext& ctx, const HttpRequest& req, const std::string& id,
                      const std::string& member) {
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    if (img->visibility != "shared") return ErrorResponse(403, "Only shared images have members.");
    bool owner = MayModify(ctx, *img).ok();
    bool self = ctx.project_id && *ctx.project_id == member;
    auto m = catalog.GetMember(img->id, member);
    if (!m.ok() || (!owner && !self)) {
      return ErrorResponse(404, "Member " + member + " not found for image " + img->id);
    }
    auth::PolicyTarget mt = Target(ctx, *img, member);
    if (req.method == "GET") {
      if (Status p = Policy("get_member", ctx, mt); !p.ok()) return ErrorResponse(p);
      return JsonResponse(200, MemberJson(*m));
    }
    if (req.method == "DELETE") {
      if (!owner) return ErrorResponse(403, "You are not permitted to remove members of image " + img->id + ".");
      if (Status p = Policy("delete_member", ctx, mt); !p.ok()) return ErrorResponse(p);
      Status s = catalog.DeleteMember(img->id, member);
      if (!s.ok()) return ErrorResponse(s);
      HttpResponse r;
      r.status = 204;
      return r;
    }
    if (!self && !ctx.is_admin) {
      return ErrorResponse(403, "Only the member " + member + " may change its membership status.");
    }
    if (Status p = Policy("modify_member", ctx, mt); !p.ok()) return ErrorResponse(p);
    json body = json::parse(req.body, nullptr, false);
    std::string status = body.is_object() && body.contains("status") && body["status"].is_string()
                             ? body["status"].get<std::string>() : "";
    if (status != "pending" && status != "accepted" && status != "rejected") {
      return ErrorResponse(400, "Status must be one of pending, accepted, rejected.");
    }
    Status s = catalog.UpdateMemberStatus(img->id, member, status);
    if (!s.ok()) return ErrorResponse(s);
    auto updated = catalog.GetMember(img->id, member);
    if (!updated.ok()) return ErrorResponse(updated.status());
    return JsonResponse(200, MemberJson(*updated));
  }

  // Read-modify-write with optimistic concurrency: retries when another writer won.
  Result<ImageRecord> Modify(const auth::RequestContext& ctx, const std::string& id,
                             const std::function<Status(ImageRecord&)>& change) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto img = Visible(ctx, id);
      if (!img.ok()) return img;
      ImageRecord updated = *img;
      GLINT_RETURN_IF_ERROR(change(updated));
      if (static_cast<int>(updated.properties.size()) > config.image_property_quota) {
        return Status::TooLarge("Maximum number of properties exceeded (" +
                                std::to_string(config.image_property_quota) + ")");
      }
      if (static_cast<int>(updated.tags.size()) > config.image_tag_quota) {
        return Status::TooLarge("Maximum number of tags exceeded (" +
                                std::to_string(config.image_tag_quota) + ")");
      }
      updated.updated_at = NowMicros();
      Status s = catalog.UpdateImage(updated);
      if (s.ok()) {
        updated.version++;
        return updated;
      }
      if (s.code() != Status::Code::kConflict) return s;
    }
    return Status::Conflict("image " + id + " is being changed concurrently; try again");
  }

  HttpResponse Dispatch(HttpRequest& req) {
    if (identity && IdentityApi::Owns(req.path)) return identity->Handle(req, BaseUrl(req));
    Route route = Match(req.path, stores.multi_store());
    if (route.kind == Route::kNone) {
      return ErrorResponse(404, "The resource could not be found: " + req.path);
    }
    if (route.kind != Route::kRoot &&
        std::find(route.methods.begin(), route.methods.end(), req.method) == route.methods.end()) {
      HttpResponse r = ErrorResponse(405, "The method " + req.method +
                                              " is not allowed for this resource.");
      r.Set("Allow", Join(route.methods, ", "));
      return r;
    }
    switch (route.kind) {
      case Route::kRoot: {
        HttpResponse r = JsonResponse(300, VersionsJson(req));
        return r;
      }
      case Route::kVersions:
        return JsonResponse(200, VersionsJson(req));
      case Route::kV2Redirect: {
        HttpResponse r;
        r.status = 302;
        r.Set("Location", BaseUrl(req) + "/v2/");
        return r;
      }
      case Route::kHealth: {
        HttpResponse r;
        r.body = "OK";
        r.Set("Content-Type", "text/plain; charset=UTF-8");
        return r;
      }
      default:
        break;
    }
    auto ctx = Authenticate(req);
    if (!ctx.ok()) {
      HttpResponse r = ErrorResponse(ctx.status());
      if (r.status == 401) r.Set("WWW-Authenticate", "Keystone uri=\"" + AuthUri(req) + "\"");
      return r;
    }
    switch (route.kind) {
      case Route::kSchema: {
        const std::string* schema = SchemaJson(route.arg);
        if (!schema) return ErrorResponse(404, "No such schema: " + route.arg);
        HttpResponse r;
        r.body = *schema;
        r.Set("Content-Type", "application/json");
        return r;
      }
      case Route::kInfoImport:
        return JsonResponse(200, {{"import-methods",
                                   {{"description", "Import methods available."},
                                    {"type", "array"},
                                    {"value", ImportMethods()}}}});
      case Route::kInfoUsage:
        return UsageInfo(*ctx);
      case Route::kInfoStores:
        return StoresInfo(*ctx, route.arg == "detail");
      case Route::kStoreImage:
        return DeleteFromStore(*ctx, route.arg, route.id);
      case Route::kImages:
        return req.method == "POST" ? Create(*ctx, req) : List(*ctx, req);
      case Route::kImage:
        if (req.method == "GET") return Show(*ctx, route.id);
        if (req.method == "PATCH") return Patch(*ctx, req, route.id);
        return Delete(*ctx, route.id);
      case Route::kImageFile:
        return Download(*ctx, req, route.id);
      case Route::kImageTag:
        return Tag(*ctx, req.method == "PUT", route.id, route.arg);
      case Route::kImageAction:
        return Action(*ctx, route.id, route.arg);
      case Route::kImageMembers:
        return req.method == "GET" ? ListMembers(*ctx, route.id) : AddMember(*ctx, req, route.id);
      case Route::kImageMember:
        return Member(*ctx, req, route.id, route.arg);
      case Route::kImageImport:
        return Import(*ctx, req, route.id);
      case Route::kImageTasks:
        return Tasks(*ctx, route.id);
      default:
        return ErrorResponse(404, "The resource could not be found.");
    }
  }

  HttpResponse Create(const auth::RequestContext& ctx, const HttpRequest& req) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return ErrorResponse(400, "Malformed JSON in request body.");
    if (!body.is_object()) return ErrorResponse(400, "Body must be a JSON object describing the image.");
    ImageRecord img;
    img.id = NewUuid();
    img.owner = ctx.project_id;
    for (const auto& [key, value] : body.items()) {
      if (kDisallowed.count(key) || (kReadOnly.count(key) && key != "id")) {
        return ErrorResponse(403, "Attribute '" + key + "' is read-only.");
      }
      if (kReserved.count(key) || IsReservedNamespace(key)) {
        return ErrorResponse(403, "Attribute '" + key + "' is reserved.");
      }
      if (key == "locations") {
        return ErrorResponse(403, "It's not allowed to add locations if locations are invisible.");
      }
      if (key == "owner" && !ctx.is_admin && !(value.is_string() && ctx.project_id &&
                                              value.get<std::string>() == *ctx.project_id)) {
        return ErrorResponse(403, "You are not permitted to create images owned by '" +
                                      value.dump() + "'.");
      }
      Status s = SetAttribute(img, key, value);
      if (!s.ok()) return ErrorResponse(s);
    }
    if (static_cast<int>(img.properties.size()) > config.image_property_quota) {
      return ErrorResponse(413, "Maximum number of properties exceeded (" +
                                    std::to_string(config.image_property_quota) + ")");
    }
    if (Status p = PolicyOn("add_image", ctx, img); !p.ok()) return ErrorResponse(p);
    if (Status v = MaySetVisibility(ctx, img.visibility, img); !v.ok()) return ErrorResponse(v);
    if (static_cast<int>(img.tags.size()) > config.image_tag_quota) {
      return ErrorResponse(413, "Maximum number of tags exceeded (" +
                                    std::to_string(config.image_tag_quota) + ")");
    }
    if (Status q = CheckQuota(ctx, "image_count_total", 1); !q.ok()) return ErrorResponse(q);
    img.created_at = img.updated_at = NowMicros();
    Status s = catalog.CreateImage(img);
    if (!s.ok()) return ErrorResponse(s);
    HttpResponse r = ImageResponse(201, img);
    r.Set("Location", BaseUrl(req) + "/v2/images/" + img.id);
    std::string methods;
    for (const auto& m : ImportMethods()) methods += (methods.empty() ? "" : ",") + m.get<std::string>();
    r.Set("OpenStack-image-import-methods", methods);
    if (stores.multi_store()) {
      std::string ids;
      for (const auto& e : stores.entries()) ids += (ids.empty() ? "" : ",") + e.id;
      r.Set("OpenStack-image-store-ids", ids);
    }
    return r;
  }

  HttpResponse Show(const auth::RequestContext& ctx, const std::string& id) {
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    return ImageResponse(200, *img);
  }

  HttpResponse List(const auth::RequestContext& ctx, const HttpRequest& req) {
    auth::PolicyTarget lt;
    if (ctx.project_id) lt["project_id"] = *ctx.project_id;
    if (Status p = Policy("get_images", ctx, lt); !p.ok()) return ErrorResponse(p);
    catalog::ListQuery q;
    q.viewer.is_admin = ctx.is_admin;
    q.viewer.project_id = ctx.project_id;
    q.limit = config.limit_param_default;
    std::vector<std::string> sort_keys, sort_dirs;
    bool have_sort = false;
    for (const auto& [k, v] : req.query) {
      if (k == "limit") {
        try {
          size_t pos = 0;
          long long n = std::stoll(v, &pos);
          if (pos != v.size()) throw std::invalid_argument(v);
          if (n < 0) return ErrorResponse(400, "limit param must be positive");
          q.limit = static_cast<int>(std::min<long long>(n, config.api_limit_max));
        } catch (const std::exception&) {
          return ErrorResponse(400, "limit param must be an integer");
        }
      } else if (k == "marker") {
        if (!IsUuid(v)) return ErrorResponse(400, "Invalid marker. Image " + v + " could not be found.");
        q.marker = CanonicalUuid(v);
      } else if (k == "sort_key") {
        if (!kSortKeys.count(v)) return ErrorResponse(400, "Invalid sort key: " + v + ". It should be one of the following: " + Join({kSortKeys.begin(), kSortKeys.end()}, ", ") + ".");
        sort_keys.push_back(v);
      } else if (k == "sort_dir") {
        if (v != "asc" && v != "desc") return ErrorResponse(400, "Invalid sort direction: " + v);
        sort_dirs.push_back(v);
      } else if (k == "sort") {
        have_sort = true;
        for (const auto& item : SplitInValues(v)) {
          std::string key = item, dir = "desc";
          size_t colon = item.find(':');
          if (colon != std::string::npos) {
            key = item.substr(0, colon);
            dir = item.substr(colon + 1);
          }
          if (!kSortKeys.count(key)) return ErrorResponse(400, "Invalid sort key: " + key);
          if (dir != "asc" && dir != "desc") return ErrorResponse(400, "Invalid sort direction: " + dir);
          q.sort.push_back({key, dir == "asc"});
        }
      } else if (k == "tag") {
        q.tags.push_back(v);
      } else if (k == "visibility") {
        if (v != "all" && !kVisibilities.count(v)) {
          return ErrorResponse(400, "Invalid visibility value: " + v);
        }
        q.visibility = v;
      } else if (k == "os_hidden") {
        auto b = ParseBool(v);
        if (!b) return ErrorResponse(400, "Invalid value for os_hidden: " + v);
        q.os_hidden = *b;
      } else if (k == "member_status") {
        if (v != "pending" && v != "accepted" && v != "rejected" && v != "all") {
          return ErrorResponse(400, "Invalid status value: " + v);
        }
        q.member_status = v;
      } else if (k == "size_min" || k == "size_max") {
        try {
          size_t pos = 0;
          int64_t n = std::stoll(v, &pos);
          if (pos != v.size() || n < 0) throw std::invalid_argument(v);
          (k == "size_min" ? q.size_min : q.size_max) = n;
        } catch (const std::exception&) {
          return ErrorResponse(400, "Invalid value for " + k + ": " + v);
        }
      } else if (k == "protected") {
        if (v != "true" && v != "false") {
          return ErrorResponse(400, "Invalid value '" + v + "' for 'protected' filter. "
                                    "Valid values are 'true' or 'false'.");
        }
        q.filters.push_back({"protected", catalog::Filter::Op::kEq, {v == "true" ? "1" : "0"}});
      } else if (k == "changes-since") {
        return ErrorResponse(400, "The \"changes-since\" filter is no longer available on v2.");
      } else if (k == "created_at" || k == "updated_at") {
        auto [op, value] = SplitFilterOp(v);
        static const std::map<std::string, catalog::Filter::Op> kTimeOps = {
            {"eq", catalog::Filter::Op::kEq},   {"neq", catalog::Filter::Op::kNeq},
            {"gt", catalog::Filter::Op::kGt},   {"gte", catalog::Filter::Op::kGte},
            {"lt", catalog::Filter::Op::kLt},   {"lte", catalog::Filter::Op::kLte}};
        auto it = kTimeOps.find(op);
        if (it == kTimeOps.end()) {
          return ErrorResponse(400, "Invalid operator '" + op + "' for " + k +
                                        ": use eq, neq, gt, gte, lt or lte");
        }
        if (!ParseIso(value)) {
          return ErrorResponse(400, "Bad \"" + k + "\" query filter format. Use ISO 8601 DateTime notation.");
        }
        q.filters.push_back({k, it->second, {value}});
      } else if (k == "name" || k == "id" || k == "status" || k == "container_format" ||
                 k == "disk_format") {
        auto [op, value] = SplitFilterOp(v);
        if (op == "in") {
          q.filters.push_back({k, catalog::Filter::Op::kIn, SplitInValues(value)});
        } else if (op == "eq") {
          q.filters.push_back({k, catalog::Filter::Op::kEq, {value}});
        } else {
          return ErrorResponse(400, "Unable to filter by unknown operator '" + op + "'.");
        }
      } else if (k == "owner" || k == "checksum" || k == "os_hash_value" || k == "min_ram" ||
                 k == "min_disk" || k == "size" || k == "virtual_size") {
        if ((k == "min_ram" || k == "min_disk" || k == "size" || k == "virtual_size") &&
            (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)) {
          return ErrorResponse(400, "Invalid value for " + k + ": " + v);
        }
        q.filters.push_back({k, catalog::Filter::Op::kEq, {v}});
      } else if (kBase.count(k)) {
        continue;  // not filterable (self, file, schema, ...): ignored as Glance does
      } else {
        q.properties.emplace_back(k, v);
      }
    }
    if (have_sort && (!sort_keys.empty() || !sort_dirs.empty())) {
      return ErrorResponse(400, "The 'sort' parameter cannot be combined with sort_key or sort_dir");
    }
    if (!have_sort) {
      if (sort_dirs.size() > 1 && sort_dirs.size() != sort_keys.size()) {
        return ErrorResponse(400, "Number of sort dirs does not match the number of sort keys");
      }
      for (size_t i = 0; i < sort_keys.size(); ++i) {
        std::string dir = sort_dirs.empty() ? "desc" : (sort_dirs.size() == 1 ? sort_dirs[0] : sort_dirs[i]);
        q.sort.push_back({sort_keys[i], dir == "asc"});
      }
      if (sort_keys.empty() && !sort_dirs.empty()) q.sort.push_back({"created_at", sort_dirs[0] == "asc"});
    }
    // Conditional listing: the catalog generation is the validator. It is read before the
    // listing, so a change racing with it makes the next poll fetch again (never miss).
    auto generation = catalog.Generation();
    if (!generation.ok()) return ErrorResponse(generation.status());
    std::string etag = "\"g" + std::to_string(*generation) + "\"";
    std::string_view inm = req.Header("if-none-match");
    if (!inm.empty() && (inm == etag || inm == "W/" + etag)) {
      HttpResponse r;
      r.status = 304;
      r.Set("ETag", etag);
      return r;
    }
    auto images = catalog.ListImages(q);
    if (!images.ok()) return ErrorResponse(images.status());
    std::string params;
    for (const auto& [k, v] : req.query) {
      if (k == "marker") continue;
      params += (params.empty() ? "" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
    }
    HttpResponse r;
    r.body.reserve(1024 + images->size() * 900);
    JsonWriter w(r.body);
    w.BeginObject();
    w.Key("images");
    w.BeginArray();
    for (const auto& img : *images) WriteImage(w, img);
    w.EndArray();
    w.Key("first");
    w.String(params.empty() ? "/v2/images" : "/v2/images?" + params);
    w.Key("schema");
    w.String("/v2/schemas/images");
    if (!images->empty() && static_cast<int>(images->size()) == q.limit) {
      w.Key("next");
      w.String("/v2/images?" + params + (params.empty() ? "" : "&") + "marker=" + images->back().id);
    }
    w.EndObject();
    r.Set("Content-Type", "application/json");
    r.Set("ETag", etag);
    return r;
  }

  HttpResponse Patch(const auth::RequestContext& ctx, const HttpRequest& req,
                     const std::string& id) {
    std::string ct(req.Header("content-type"));
    ct = ct.substr(0, ct.find(';'));
    bool v21 = ct == "application/openstack-images-v2.1-json-patch";
    bool v20 = ct == "application/openstack-images-v2.0-json-patch";
    if (!v21 && !v20) {
      HttpResponse r = ErrorResponse(415, "Unsupported Content-Type '" + ct + "' for PATCH");
      r.Set("Accept-Patch", "application/openstack-images-v2.0-json-patch, "
                            "application/openstack-images-v2.1-json-patch");
      return r;
    }
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return ErrorResponse(400, "Malformed JSON in request body.");
    if (!body.is_array()) return ErrorResponse(400, "Request body must be a JSON array of operation objects.");
    if (v21 && !body.empty() && std::all_of(body.begin(), body.end(), [](const json& c) {
          return c.is_object() && c.contains("path") && c["path"].is_string() &&
                 c["path"].get<std::string>().rfind("/locations", 0) == 0;
        })) {
      return PatchLocations(ctx, id, body);
    }
    struct Change {
      std::string op, root;
      json value;
    };
    std::vector<Change> changes;
    for (const auto& c : body) {
      if (!c.is_object()) return ErrorResponse(400, "Operations must be JSON objects.");
      Change ch;
      std::string path;
      if (v21) {
        if (!c.contains("op") || !c["op"].is_string()) {
          return ErrorResponse(400, "Unable to find 'op' in JSON Schema change");
        }
        ch.op = c["op"].get<std::string>();
        if (!c.contains("path") || !c["path"].is_string()) {
          return ErrorResponse(400, "Unable to find 'path' in JSON Schema change");
        }
        path = c["path"].get<std::string>();
      } else {
        int found = 0;
        for (const char* op : {"add", "remove", "replace"}) {
          if (c.contains(op)) {
            ++found;
            if (!c[op].is_string()) return ErrorResponse(400, "The path of '" + std::string(op) + "' must be a string");
            ch.op = op;
            path = c[op].get<std::string>();
          }
        }
        if (found != 1) {
          return ErrorResponse(400, "A v2.0 change must have exactly one of add, remove, replace");
        }
      }
      if (ch.op != "add" && ch.op != "remove" && ch.op != "replace") {
        return ErrorResponse(400, "Invalid operation: `" + ch.op + "`: it must be one of add, remove, replace.");
      }
      if (ch.op != "remove") {
        if (!c.contains("value")) return ErrorResponse(400, "Operation \"" + ch.op + "\" requires a member named \"value\".");
        ch.value = c["value"];
      }
      if (path.empty() || path[0] != '/') {
        return ErrorResponse(400, "Pointer `" + path + "` does not start with \"/\".");
      }
      std::string root = path.substr(1);
      if (root.find('/') != std::string::npos) {
        return ErrorResponse(400, "Invalid JSON pointer for this resource: '" + path + "'");
      }
      // JSON pointer unescaping.
      std::string decoded;
      for (size_t i = 0; i < root.size(); ++i) {
        if (root[i] == '~' && i + 1 < root.size() && (root[i + 1] == '0' || root[i + 1] == '1')) {
          decoded.push_back(root[i + 1] == '0' ? '~' : '/');
          ++i;
        } else if (root[i] == '~') {
          return ErrorResponse(400, "Invalid JSON pointer escape in '" + path + "'");
        } else {
          decoded.push_back(root[i]);
        }
      }
      ch.root = decoded;
      if (kReadOnly.count(ch.root)) return ErrorResponse(403, "Attribute '" + ch.root + "' is read-only.");
      if (kReserved.count(ch.root) || IsReservedNamespace(ch.root)) {
        return ErrorResponse(403, "Attribute '" + ch.root + "' is reserved.");
      }
      if (ch.root == "locations") {
        return ErrorResponse(403, "It's not allowed to update locations if locations are invisible.");
      }
      if (ch.root == "owner" && !ctx.is_admin) {
        return ErrorResponse(403, "Owner can't be updated by non admin.");
      }
      changes.push_back(std::move(ch));
    }
    auto updated = Modify(ctx, id, [&](ImageRecord& img) -> Status {
      GLINT_RETURN_IF_ERROR(MayModify(ctx, img));
      GLINT_RETURN_IF_ERROR(PolicyOn("modify_image", ctx, img));
      for (const auto& ch : changes) {
        if (ch.root == "visibility" && ch.value.is_string()) {
          GLINT_RETURN_IF_ERROR(MaySetVisibility(ctx, ch.value.get<std::string>(), img));
        }
        bool base = kBase.count(ch.root) > 0;
        if ((ch.root == "disk_format" || ch.root == "container_format") && ch.op != "remove" &&
            img.status != catalog::kQueued) {
          return Status::PermissionDenied("Attribute " + ch.root +
                                          " can be only replaced for a queued image.");
        }
        if (ch.op == "remove") {
          if (base) return Status::PermissionDenied("Property " + ch.root + " may not be removed.");
          if (!img.properties.erase(ch.root)) {
            return Status::Conflict("Property " + ch.root + " does not exist.");
          }
          continue;
        }
        if (ch.op == "replace" && !base && !img.properties.count(ch.root)) {
          return Status::Conflict("Property " + ch.root + " does not exist.");
        }
        GLINT_RETURN_IF_ERROR(SetAttribute(img, ch.root, ch.value));
      }
      return Status::Ok();
    });
    if (!updated.ok()) return ErrorResponse(updated.status());
    return ImageResponse(200, *updated);
  }

  HttpResponse Delete(const auth::RequestContext& ctx, const std::string& id) {
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    if (Status may = MayModify(ctx, *img); !may.ok()) return ErrorResponse(may);
    if (Status p = PolicyOn("delete_image", ctx, *img); !p.ok()) return ErrorResponse(p);
    if (img->is_protected) {
      return ErrorResponse(403, "Image " + img->id + " is protected and cannot be deleted.");
    }
    // Refuse while the data is in use (RBD clones, open images) and keep everything.
    for (const auto& loc : img->locations) {
      store::Backend* owner = stores.Owner(loc.url);
      if (!owner) continue;
      Status s = owner->CheckDeletable(loc.url);
      if (!s.ok()) return ErrorResponse(s);
    }
    auto before = catalog.DeleteImage(img->id);
    if (!before.ok()) return ErrorResponse(before.status());
    RemoveData(*before);
    HttpResponse r;
    r.status = 204;
    return r;
  }

  // Deletes an image's data after its row was marked deleted; on failure the locations
  // stay pending and the startup sweep retries.
  void RemoveData(const ImageRecord& img) {
    bool all = true;
    for (const auto& loc : img.locations) {
      store::Backend* owner = stores.Owner(loc.url);
      if (!owner) {
        spdlog::warn("image {}: location {} is not in a configured store; leaving it", img.id, loc.url);
        continue;
      }
      Status s = owner->Delete(loc.url);
      if (!s.ok()) {
        spdlog::error("image {}: deleting data failed: {}", img.id, s.ToString());
        all = false;
      }
    }
    if (all) (void)catalog.ForgetLocations(img.id);
    if (store::Backend* staging = Staging()) (void)staging->Delete(staging->LocationFor(img.id));
  }

  HttpResponse Tag(const auth::RequestContext& ctx, bool add, const std::string& id,
                   const std::string& tag) {
    if (tag.size() > 255) return ErrorResponse(400, "Tag is too long (max 255 characters).");
    bool missing = false;
    auto updated = Modify(ctx, id, [&](ImageRecord& img) -> Status {
      GLINT_RETURN_IF_ERROR(MayModify(ctx, img));
      GLINT_RETURN_IF_ERROR(PolicyOn("modify_image", ctx, img));
      auto it = std::lower_bound(img.tags.begin(), img.tags.end(), tag);
      bool present = it != img.tags.end() && *it == tag;
      if (add && !present) img.tags.insert(it, tag);
      if (!add) {
        if (!present) {
          missing = true;
          return Status::NotFound("Tag " + tag + " not found.");
        }
        img.tags.erase(it);
      }
      return Status::Ok();
    });
    if (!updated.ok()) return ErrorResponse(updated.status());
    HttpResponse r;
    r.status = 204;
    return r;
  }

  HttpResponse Action(const auth::RequestContext& ctx, const std::string& id,
                      const std::string& action) {
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    if (Status may = MayModify(ctx, *img); !may.ok()) return ErrorResponse(may);
    if (Status p = PolicyOn(action, ctx, *img); !p.ok()) return ErrorResponse(p);
    bool deactivate = action == "deactivate";
    const char* target = deactivate ? catalog::kDeactivated : catalog::kActive;
    const char* from = deactivate ? catalog::kActive : catalog::kDeactivated;
    if (img->status != target) {
      if (img->status != from) {
        return ErrorResponse(403, "Not allowed to " + action + " image in status '" +
                                      img->status + "'");
      }
      Status s = catalog.TransitionStatus(img->id, from, target);
      if (!s.ok()) return ErrorResponse(s);
    }
    HttpResponse r;
    r.status = 204;
    return r;
  }

  // ---- interoperable import (glance-direct) ----

  // An api_image_import task as Glance records it (input: the request and the stores).
  static catalog::TaskRecord NewTask(const auth::RequestContext& ctx, const HttpRequest& req, const std::string& image_id,
                                     const json& body, const json& backends) {
    catalog::TaskRecord task;
    task.id = NewUuid();
    task.image_id = image_id;
    task.owner = ctx.project_id;
    task.user_id = ctx.user_id;
    task.request_id = req.request_id;
    task.input_json = json({{"image_id", image_id}, {"import_req", body}, {"backend", backends}}).dump();
    task.created_at = task.updated_at = NowMicros();
    return task;
  }

  // What this site imports with: glance-direct, and copy-image between several stores.
  json ImportMethods() const {
    json m = json::array({"glance-direct"});
    if (stores.multi_store()) m.push_back("copy-image");
    return m;
  }

  // Which store an import goes to: `stores` (one), X-Image-Meta-Store, else the default.
  Result<store::Backend*> ImportTarget(const HttpRequest& req, const json& body) {
    std::vector<std::string> wanted;
    if (body.contains("stores")) {
      if (!body["stores"].is_array()) return Status::InvalidArgument("'stores' must be a list of store ids");
      for (const auto& v : body["stores"]) {
        if (!v.is_string()) return Status::InvalidArgument("'stores' must be a list of store ids");
        wanted.push_back(v.get<std::string>());
      }
    }
    bool all = body.value("all_stores", false);
    std::string header(req.Header("x-image-meta-store"));
    if (all && (!wanted.empty() || !header.empty())) {
      return Status::InvalidArgument("All_stores parameter can't be used with x-image-meta-store header or stores parameter");
    }
    if (all && stores.entries().size() == 1) return stores.Default();
    if (all || wanted.size() > 1) {
      return Status::InvalidArgument("Glint imports into one store per request; name one in 'stores' "
                                     "and copy to others by adding locations");
    }
    if (wanted.empty() && !header.empty()) wanted.push_back(header);
    if (wanted.empty()) return stores.Default();
    store::Backend* b = stores.multi_store() ? stores.Find(wanted[0]) : nullptr;
    if (!b) return Status::Conflict("Store for identifier " + wanted[0] + " not found");
    return b;
  }

  HttpResponse Import(const auth::RequestContext& ctx, const HttpRequest& req, const std::string& id) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return ErrorResponse(400, "Malformed JSON in request body.");
    if (!body.contains("method") || !body["method"].is_object()) {
      return ErrorResponse(400, "Import request requires a 'method' field.");
    }
    const json& m = body["method"];
    if (!m.contains("name") || !m["name"].is_string()) return ErrorResponse(400, "Import request requires a 'name' field.");
    std::string method = m["name"].get<std::string>();
    static const std::set<std::string> kKnown = {"glance-direct", "web-download", "copy-image", "glance-download"};
    if (!kKnown.count(method)) return ErrorResponse(400, "Unknown import method name '" + method + "'.");
    for (const char* k : {"all_stores", "all_stores_must_succeed"}) {
      if (body.contains(k) && !body[k].is_boolean()) {
        return ErrorResponse(400, std::string("'") + k + "' must be true or false");
      }
    }
    if (method == "copy-image") return CopyImage(ctx, req, id, body);
    if (method != "glance-direct") {
      return ErrorResponse(400, "Import method '" + method + "' is not enabled at this site (GET /v2/info/import)");
    }
    for (const char* k : {"all_stores", "all_stores_must_succeed"}) {
      if (body.contains(k) && !body[k].is_boolean()) {
        return ErrorResponse(400, std::string("'") + k + "' must be true or false");
      }
    }
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    if (img->status == catalog::kActive) {
      return ErrorResponse(409, "Image with status active cannot be target for import");
    }
    if (img->status != catalog::kUploading) {
      return ErrorResponse(409, "Image needs to be staged before 'glance-direct' method can be used");
    }
    if (!img->container_format) return ErrorResponse(409, "'container_format' needs to be set before import");
    if (!img->disk_format) return ErrorResponse(409, "'disk_format' needs to be set before import");
    if (Status may = MayModify(ctx, *img); !may.ok()) return ErrorResponse(may);
    if (Status p = PolicyOn("modify_image", ctx, *img); !p.ok()) return ErrorResponse(p);
    auto target = ImportTarget(req, body);
    if (!target.ok()) return ErrorResponse(target.status());
    if (!*target) return ErrorResponse(503, "No store is configured");
    store::Backend* staging = Staging();
    if (!staging) return ErrorResponse(503, "The staging area is not available");
    catalog::UploadLock lock{img->id, NewUuid(), config.node_id};
    Status s = catalog.BeginImport(lock, NowMicros() + int64_t{config.upload_lock_ttl} * 1000000);
    if (!s.ok()) return ErrorResponse(s);
    catalog::TaskRecord task = NewTask(ctx, req, img->id, body,
                                       stores.multi_store() ? json::array({StoreIdOf(**target)}) : json());
    if (Status t = catalog.CreateTask(task); !t.ok()) {
      (void)catalog.ReleaseImport(lock);
      return ErrorResponse(t);
    }
    // The copy into the store runs on the pool; the client polls the image (or its tasks).
    post([this, lock, task_id = task.id, target = *target, disk_format = img->disk_format] {
      RunImport(lock, task_id, *target, disk_format);
    });
    HttpResponse r;
    r.status = 202;
    return r;
  }

  // copy-image (multi-store): the data of an active image is copied into more stores; the
  // image stays active and gains a location per store. Runs as an exclusive task. Jobs
  // posted to the pool capture `this`: main joins the pool before the service goes away.
  HttpResponse CopyImage(const auth::RequestContext& ctx, const HttpRequest& req, const std::string& id,
                         const json& body) {
    if (!stores.multi_store()) {
      return ErrorResponse(400, "copy-image copies between stores: it needs enabled_backends");
    }
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    if (img->status != catalog::kActive) {
      return ErrorResponse(409, "Only images with status active can be targeted for copying");
    }
    if (Status p = PolicyOn("copy_image", ctx, *img); !p.ok()) return ErrorResponse(p);
    std::set<std::string> holding;
    for (const auto& l : img->locations) holding.insert(l.store);
    std::vector<std::string> wanted;
    bool all = body.value("all_stores", false);
    std::string header(req.Header("x-image-meta-store"));
    if (body.contains("stores")) {
      if (!body["stores"].is_array()) return ErrorResponse(400, "'stores' must be a list of store ids");
      for (const auto& v : body["stores"]) {
        if (!v.is_string()) return ErrorResponse(400, "'stores' must be a list of store ids");
        wanted.push_back(v.get<std::string>());
      }
    }
    if (all && (!wanted.empty() || !header.empty())) {
      return ErrorResponse(400, "All_stores parameter can't be used with x-image-meta-store header or stores parameter");
    }
    if (all) {
      for (const auto& e : stores.entries()) {
        if (!holding.count(e.id)) wanted.push_back(e.id);
      }
      if (wanted.empty()) return HttpResponse{202};  // already everywhere: nothing to do (as Glance)
    } else {
      if (wanted.empty() && !header.empty()) wanted.push_back(header);
      if (wanted.empty()) return ErrorResponse(400, "Name the stores to copy to: 'stores' or 'all_stores'");
      std::sort(wanted.begin(), wanted.end());
      wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
      for (const auto& w : wanted) {
        if (!stores.Find(w)) return ErrorResponse(409, "Store for identifier " + w + " not found");
        if (holding.count(w)) return ErrorResponse(400, "Image is already present at store '" + w + "'");
      }
    }
    catalog::TaskRecord task = NewTask(ctx, req, img->id, body, wanted);
    task.lock_token = NewUuid();
    task.lock_node = config.node_id;
    task.lock_expires = NowMicros() + int64_t{config.upload_lock_ttl} * 1000000;
    if (Status t = catalog.CreateTask(task); !t.ok()) return ErrorResponse(t);
    post([this, task, wanted, source = *img] { RunCopy(task, wanted, source); });
    return HttpResponse{202};
  }

  void RunCopy(const catalog::TaskRecord& task, const std::vector<std::string>& targets, const ImageRecord& img) {
    const int64_t ttl = int64_t{config.upload_lock_ttl} * 1000000;
    // The job may have waited in the pool's queue: make sure the task lock is still ours.
    if (Status s = catalog.RenewTask(task.id, *task.lock_token, NowMicros() + ttl); !s.ok()) {
      (void)catalog.UpdateTask(task.id, "failure", std::nullopt, "the copy lost its lock: " + s.message());
      return;
    }
    (void)catalog.UpdateTask(task.id, "processing", std::nullopt, "");
    int64_t last_renew = NowMicros(), copied = 0;
    std::vector<std::string> failures;
    auto copy_to = [&](const std::string& target_id) -> Status {
      store::Backend* target = stores.Find(target_id);
      if (!target) return Status::NotFound("store " + target_id + " is gone");
      std::unique_ptr<store::Reader> reader;
      for (const auto& l : img.locations) {  // the first readable copy
        if (store::Backend* src = stores.Owner(l.url)) {
          auto r = src->Open(l.url);
          if (r.ok()) {
            reader = std::move(r).value();
            break;
          }
        }
      }
      if (!reader) return Status::NotFound("no readable location of image " + img.id);
      // Data of an earlier copy that died after its commit is no location of the image
      // (checked when this task started): remove it, or it would block this copy.
      std::string where = target->LocationFor(img.id);
      if (std::none_of(img.locations.begin(), img.locations.end(),
                       [&](const catalog::ImageLocation& l) { return l.url == where; })) {
        (void)target->Delete(where);
      }
      auto writer = target->NewWriter(img.id, *task.lock_token);
      if (!writer.ok()) return writer.status();
      std::unique_ptr<store::Writer> w = std::move(writer).value();
      Digest md5(Digest::Algorithm::kMd5);
      constexpr size_t kChunk = 1 << 20;
      AlignedBuffer buf = NewAlignedBuffer(kChunk);
      int64_t off = 0, size = reader->size();
      auto abort = [&](Status s) {
        w->Abort();
        return s;
      };
      while (off < size) {
        auto n = reader->ReadAt(off, buf.get(), kChunk);
        if (!n.ok()) return abort(n.status());
        if (*n == 0) return abort(Status::IOError("source data ended early"));
        md5.Update(buf.get(), *n);
        if (Status s = w->Write(buf.get(), *n); !s.ok()) return abort(s);
        off += static_cast<int64_t>(*n);
        if (NowMicros() - last_renew > ttl / 3) {
          if (Status s = catalog.RenewTask(task.id, *task.lock_token, NowMicros() + ttl); !s.ok()) return abort(s);
          last_renew = NowMicros();
        }
      }
      // The copy is checked against the image's checksum before it becomes a location.
      if (img.checksum && md5.FinishHex() != *img.checksum) {
        return abort(Status::Corruption("the copy's md5 does not match the image checksum"));
      }
      auto location = w->Commit();
      if (!location.ok()) return abort(location.status());
      catalog::ImageLocation loc{*location, json({{"store", target_id}}).dump(), target_id};
      if (Status s = catalog.AddLocation(img.id, loc, std::nullopt); !s.ok()) {
        (void)target->Delete(*location);  // the image changed (deleted, deactivated) meanwhile
        return s;
      }
      copied += size;
      return Status::Ok();
    };
    for (const auto& t : targets) {
      Status s = copy_to(t);
      if (!s.ok()) {
        failures.push_back(t + ": " + s.message());
        spdlog::warn("image {}: copy to store {} failed: {}", img.id, t, s.ToString());
      }
    }
    std::string message = "Copied " + std::to_string(copied >> 20) + " MiB";
    if (!failures.empty()) {
      message += "; failed: ";
      for (size_t i = 0; i < failures.size(); ++i) message += (i ? "; " : "") + failures[i];
    }
    (void)catalog.UpdateTask(task.id, failures.empty() ? "success" : "failure",
                             json({{"image_id", img.id}}).dump(), message);
  }

  std::string StoreIdOf(store::Backend& b) {
    for (const auto& e : stores.entries()) {
      if (e.backend.get() == &b) return e.id;
    }
    return b.id();
  }

  // Streams the staged data into the target store, hashing it, then activates the image.
  // On failure the image goes back to `uploading` (the staged data stays, to be imported
  // again) and the task says why.
  void RunImport(const catalog::UploadLock& lock, const std::string& task_id, store::Backend& target,
                 const std::optional<std::string>& disk_format) {
    const int64_t ttl = int64_t{config.upload_lock_ttl} * 1000000;
    // The job may have waited in the pool's queue: make sure the lock is still ours.
    if (Status s = catalog.RenewUpload(lock, NowMicros() + ttl); !s.ok()) {
      (void)catalog.UpdateTask(task_id, "failure", std::nullopt, "the import lost its lock: " + s.message());
      return;
    }
    (void)catalog.UpdateTask(task_id, "processing", std::nullopt, "");
    store::Backend* staging = Staging();
    if (!staging) {
      (void)catalog.ReleaseImport(lock);
      (void)catalog.UpdateTask(task_id, "failure", std::nullopt, "the staging area is not available");
      return;
    }
    std::string staged = staging->LocationFor(lock.image_id);
    auto fail = [&](const Status& why, std::unique_ptr<store::Writer>* writer) {
      if (writer && *writer) (*writer)->Abort();
      (void)catalog.ReleaseImport(lock);
      (void)catalog.UpdateTask(task_id, "failure", std::nullopt, why.message());
      spdlog::warn("image {}: import failed: {}", lock.image_id, why.ToString());
    };
    auto reader = staging->Open(staged);
    if (!reader.ok()) {
      if (reader.status().code() == Status::Code::kNotFound) {
        // Nothing staged (any more): the image can only start over.
        (void)catalog.AbortUpload(lock);
        (void)catalog.UpdateTask(task_id, "failure", std::nullopt,
                                 "the staged data is gone (is the staging area shared by every API node?); "
                                 "stage the image again");
        return;
      }
      return fail(reader.status(), nullptr);
    }
    // A committed object left by an import that died after its commit belongs to nobody
    // (the image has no locations while importing): clear the way.
    (void)target.Delete(target.LocationFor(lock.image_id));
    auto writer = target.NewWriter(lock.image_id, lock.token);
    if (!writer.ok()) return fail(writer.status(), nullptr);
    std::unique_ptr<store::Writer> w = std::move(writer).value();
    Digest md5(Digest::Algorithm::kMd5), sha512(Digest::Algorithm::kSha512);
    FormatInspector inspector;
    inspector.disk_format = disk_format;
    constexpr size_t kChunk = 1 << 20;
    AlignedBuffer buf = NewAlignedBuffer(kChunk);
    int64_t off = 0, size = (*reader)->size(), last_renew = NowMicros();
    while (off < size) {
      auto n = (*reader)->ReadAt(off, buf.get(), kChunk);
      if (!n.ok()) return fail(n.status(), &w);
      if (*n == 0) return fail(Status::IOError("staged data ended early"), &w);
      if (inspector.head.size() < 512) inspector.head.append(buf.get(), std::min<size_t>(*n, 512 - inspector.head.size()));
      md5.Update(buf.get(), *n);
      sha512.Update(buf.get(), *n);
      if (Status s = w->Write(buf.get(), *n); !s.ok()) return fail(s, &w);
      off += static_cast<int64_t>(*n);
      if (NowMicros() - last_renew > ttl / 3) {
        if (Status s = catalog.RenewUpload(lock, NowMicros() + ttl); !s.ok()) return fail(s, &w);
        last_renew = NowMicros();
      }
    }
    ImageRecord facts;
    facts.size = size;
    facts.checksum = md5.FinishHex();
    facts.os_hash_algo = "sha512";
    facts.os_hash_value = sha512.FinishHex();
    facts.virtual_size = inspector.VirtualSize(size);
    auto location = w->Commit();
    if (!location.ok()) return fail(location.status(), &w);
    std::string store_id = stores.multi_store() ? StoreIdOf(target) : "";
    catalog::ImageLocation loc{*location, "{}", store_id.empty() ? target.id() : store_id};
    if (Status s = catalog.CompleteUpload(lock, facts, loc); !s.ok()) {
      (void)target.Delete(*location);
      return fail(s, nullptr);
    }
    (void)staging->Delete(staged);
    (void)catalog.UpdateTask(task_id, "success", json({{"image_id", lock.image_id}}).dump(), "");
    spdlog::info("image {}: imported ({} bytes) into store {}", lock.image_id, size, loc.store);
  }

  HttpResponse Tasks(const auth::RequestContext& ctx, const std::string& id) {
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    auto tasks = catalog.ListTasks(id);
    if (!tasks.ok()) return ErrorResponse(tasks.status());
    auto when = [](std::optional<int64_t> t) -> json {
      if (!t) return nullptr;
      std::string s = FormatIsoSeconds(*t);  // Glance: 2024-01-02T03:04:05.000000
      s.pop_back();
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(*t % 1000000));
      return s + frac;
    };
    json out = json::array();
    for (const auto& t : *tasks) {
      json input = json::parse(t.input_json, nullptr, false);
      json result = t.result_json ? json::parse(*t.result_json, nullptr, false) : json();
      out.push_back({{"id", t.id}, {"type", t.type}, {"status", t.status}, {"owner", t.owner ? json(*t.owner) : json()},
                     {"expires_at", when(t.expires_at)}, {"created_at", when(t.created_at)},
                     {"updated_at", when(t.updated_at)}, {"deleted_at", nullptr}, {"deleted", false},
                     {"image_id", t.image_id}, {"request_id", t.request_id ? json(*t.request_id) : json()},
                     {"user_id", t.user_id ? json(*t.user_id) : json()},
                     {"input", input.is_discarded() ? json::object() : input},
                     {"result", result.is_discarded() ? json() : result}, {"message", t.message}});
    }
    return JsonResponse(200, {{"tasks", out}});
  }

  HttpResponse Download(const auth::RequestContext& ctx, const HttpRequest& req,
                        const std::string& id) {
    auto img = Visible(ctx, id);
    if (!img.ok()) return ErrorResponse(img.status());
    if (Status p = PolicyOn("download_image", ctx, *img); !p.ok()) return ErrorResponse(p);
    if (img->status == catalog::kDeactivated && !ctx.is_admin) {
      return ErrorResponse(403, "The requested image has been deactivated. Image data download is forbidden.");
    }
    if ((img->status != catalog::kActive && img->status != catalog::kDeactivated) ||
        img->locations.empty()) {
      HttpResponse r;
      r.status = 204;
      return r;
    }
    std::unique_ptr<store::Reader> reader;
    Status last = Status::NotFound("image data is not in any configured store");
    for (const auto& loc : img->locations) {
      store::Backend* owner = stores.Owner(loc.url);
      if (!owner) continue;
      auto opened = owner->Open(loc.url);
      if (opened.ok()) {
        reader = std::move(opened).value();
        break;
      }
      last = opened.status();
    }
    if (!reader) {
      spdlog::error("image {}: data unavailable: {}", img->id, last.ToString());
      return ErrorResponse(last.code() == Status::Code::kNotFound
                               ? Status::NotFound("Image data for " + img->id + " is not available")
                               : last);
    }
    int64_t size = reader->size();
    HttpResponse r;
    r.status = 200;
    r.offset = 0;
    r.length = size;
    std::string range(req.Header("range"));
    if (range.find(',') != std::string::npos) {
      return ErrorResponse(400, "Multiple ranges are not supported: " + range);
    }
    if (!range.empty()) {
      // bytes=a-b | bytes=a- | bytes=-n  (one range)
      int64_t first = -1, last_byte = -1;
      bool ok = range.rfind("bytes=", 0) == 0 && range.find(',') == std::string::npos;
      if (ok) {
        std::string spec = range.substr(6);
        size_t dash = spec.find('-');
        ok = dash != std::string::npos;
        try {
          if (ok && dash == 0) {
            int64_t n = std::stoll(spec.substr(1));
            first = std::max<int64_t>(0, size - n);
            last_byte = size - 1;
            ok = n > 0;
          } else if (ok) {
            first = std::stoll(spec.substr(0, dash));
            last_byte = dash + 1 < spec.size() ? std::stoll(spec.substr(dash + 1)) : size - 1;
          }
        } catch (const std::exception&) {
          ok = false;
        }
      }
      if (!ok || first < 0 || first >= size || last_byte < first) {
        HttpResponse e = ErrorResponse(416, "Requested range " + range + " not satisfiable for image of " +
                                                std::to_string(size) + " bytes");
        e.Set("Content-Range", "bytes */" + std::to_string(size));
        return e;
      }
      last_byte = std::min(last_byte, size - 1);
      r.status = 206;
      r.offset = first;
      r.length = last_byte - first + 1;
      r.Set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last_byte) +
                                 "/" + std::to_string(size));
    }
    r.Set("Content-Type", "application/octet-stream");
    if (img->checksum && r.status == 200) r.Set("Content-MD5", *img->checksum);
    r.data = std::move(reader);
    return r;
  }
};

ApiService::ApiService(const Config& config, catalog::Catalog& catalog, store::StoreSet& stores,
                       auth::Authenticator& authenticator, Post post, IdentityApi* identity,
                       auth::PolicyEngine* policy)
    : impl_(new Impl{config, catalog, stores, authenticator, std::move(post), identity, policy}) {}

bool ApiService::IsUpload(const HttpRequest& head) const {
  if (head.method != "PUT") return false;
  auto kind = Match(head.path, impl_->stores.multi_store()).kind;
  return kind == Route::kImageFile || kind == Route::kImageStage;
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
    r = ErrorResponse(500, "Internal error while handling the request");
  }
  Decorate(req, r);
  return r;
}

std::variant<std::shared_ptr<UploadSession>, HttpResponse> ApiService::BeginUpload(
    HttpRequest& head, std::optional<uint64_t> content_length) {
  auto fail = [&](HttpResponse r) {
    Decorate(head, r);
    return r;
  };
  Route route = Match(head.path, impl_->stores.multi_store());
  auto ctx = impl_->Authenticate(head);
  if (!ctx.ok()) return fail(ErrorResponse(ctx.status()));
  std::string ct(head.Header("content-type"));
  ct = ct.substr(0, ct.find(';'));
  if (ct != "application/octet-stream") {
    return fail(ErrorResponse(415, "Content-Type '" + ct + "' is not supported for image data: "
                                   "use application/octet-stream"));
  }
  auto img = impl_->Visible(*ctx, route.id);
  if (!img.ok()) return fail(ErrorResponse(img.status()));
  if (Status may = Impl::MayModify(*ctx, *img); !may.ok()) return fail(ErrorResponse(may));
  if (route.kind == Route::kImageStage) {
    // glance-direct, step one: the data goes to the staging area; the image becomes
    // `uploading` (Glance: no formats needed yet, policy modify_image).
    if (Status p = impl_->PolicyOn("modify_image", *ctx, *img); !p.ok()) return fail(ErrorResponse(p));
    if (content_length && *content_length > static_cast<uint64_t>(impl_->config.image_size_cap)) {
      return fail(ErrorResponse(413, "The incoming image is too large: " + std::to_string(*content_length) +
                                         " bytes exceeds image_size_cap (" +
                                         std::to_string(impl_->config.image_size_cap) + ")"));
    }
    store::Backend* staging = impl_->Staging();
    if (!staging) return fail(ErrorResponse(503, "The staging area is not available"));
    catalog::UploadLock lock{img->id, NewUuid(), impl_->config.node_id};
    Status s = impl_->catalog.BeginStage(lock, NowMicros() + int64_t{impl_->config.upload_lock_ttl} * 1000000);
    if (!s.ok()) return fail(ErrorResponse(s));
    auto writer = staging->NewWriter(img->id, lock.token);
    if (!writer.ok()) {
      (void)impl_->catalog.AbortUpload(lock);
      return fail(ErrorResponse(writer.status()));
    }
    return std::make_shared<UploadSession>(impl_->post, impl_->catalog, std::move(writer).value(), *staging, lock,
                                           img->disk_format, impl_->config.image_size_cap,
                                           impl_->config.upload_lock_ttl, UploadSession::Mode::kStage);
  }
  if (Status p = impl_->PolicyOn("upload_image", *ctx, *img); !p.ok()) return fail(ErrorResponse(p));
  if (content_length && *content_length > static_cast<uint64_t>(impl_->config.image_size_cap)) {
    return fail(ErrorResponse(413, "The incoming image is too large: " +
                                       std::to_string(*content_length) + " bytes exceeds image_size_cap (" +
                                       std::to_string(impl_->config.image_size_cap) + ")"));
  }
  if (img->status == catalog::kQueued && (!img->disk_format || !img->container_format)) {
    return fail(ErrorResponse(400, "Properties disk_format, container_format must be set prior "
                                   "to saving data."));
  }
  if (img->status != catalog::kQueued) {
    return fail(ErrorResponse(409, "Image status transition from " + img->status +
                                       " to saving is not allowed"));
  }
  int64_t headroom = -1;
  for (auto [resource, delta] : {std::pair<const char*, int64_t>{"image_count_uploading", 1},
                                 {"image_size_total", 0}}) {
    Status q = impl_->CheckQuota(*ctx, resource, delta, resource == std::string("image_size_total") ? &headroom : nullptr);
    if (!q.ok()) return fail(ErrorResponse(q));
  }
  int64_t size_cap = impl_->config.image_size_cap;
  if (headroom >= 0) size_cap = std::min(size_cap, headroom);
  if (content_length && headroom >= 0 && *content_length > static_cast<uint64_t>(headroom)) {
    return fail(ErrorResponse(Status::TooLarge(
        "Resource image_size_total is over limit: this upload of " + std::to_string(*content_length) +
        " bytes exceeds the project's remaining " + std::to_string(headroom) + " bytes")));
  }
  // Which store receives the data: X-Image-Meta-Store (multi-store), else the default.
  store::Backend* target = impl_->stores.Default();
  std::string wanted(head.Header("x-image-meta-store"));
  if (!wanted.empty()) {
    target = impl_->stores.multi_store() ? impl_->stores.Find(wanted) : nullptr;
    if (!target) return fail(ErrorResponse(400, "Store for identifier " + wanted + " not found"));
  }
  if (!target) return fail(ErrorResponse(503, "No store is configured"));
  catalog::UploadLock lock{img->id, NewUuid(), impl_->config.node_id};
  int64_t ttl = int64_t{impl_->config.upload_lock_ttl} * 1000000;
  Status s = impl_->catalog.BeginUpload(lock, NowMicros() + ttl);
  if (!s.ok()) return fail(ErrorResponse(s));
  auto writer = target->NewWriter(img->id, lock.token);
  if (!writer.ok()) {
    (void)impl_->catalog.AbortUpload(lock);
    return fail(ErrorResponse(writer.status()));
  }
  return std::make_shared<UploadSession>(impl_->post, impl_->catalog, std::move(writer).value(),
                                         *target, lock, img->disk_format, size_cap,
                                         impl_->config.upload_lock_ttl);
}

Status ApiService::RecoverUploads(bool at_startup) {
  auto released = impl_->catalog.RecoverUploads(at_startup ? impl_->config.node_id : std::string(),
                                                NowMicros());
  if (!released.ok()) return released.status();
  for (const auto& l : *released) {
    spdlog::warn("image {}: interrupted upload recovered; image is queued again", l.image_id);
  }
  return Status::Ok();
}

Result<int> ApiService::SweepStore() {
  auto& catalog = impl_->catalog;
  auto pending = catalog.PendingDeletes();
  if (!pending.ok()) return pending.status();
  for (const auto& img : *pending) impl_->RemoveData(img);
  Status first;
  int left = 0;
  for (const auto& entry : impl_->stores.entries()) {
    Status s = SweepOne(*entry.backend, &left);
    if (!s.ok() && first.ok()) first = s;
  }
  if (Status s = SweepStaging(); !s.ok() && first.ok()) first = s;
  if (!first.ok()) return first;
  return left;
}

// Staged data is kept only while its image waits for (or runs) an import.
Status ApiService::SweepStaging() {
  store::Backend* staging = impl_->Staging();
  if (!staging) return Status::Ok();
  auto objects = staging->ListObjects();
  if (!objects.ok()) return objects.status();
  auto live = impl_->catalog.LiveUploads();
  if (!live.ok()) return live.status();
  std::set<std::string> live_tokens;
  for (const auto& l : *live) live_tokens.insert(l.token);
  for (const auto& obj : *objects) {
    bool keep;
    if (!obj.upload_token.empty()) {
      keep = live_tokens.count(obj.upload_token) > 0;
    } else {
      auto img = impl_->catalog.GetImageAnyStatus(obj.image_id);
      keep = img.ok() && (img->status == catalog::kUploading || img->status == catalog::kImporting);
      if (!img.ok() && img.status().code() != Status::Code::kNotFound) keep = true;  // cannot tell now
    }
    if (keep) continue;
    spdlog::info("removing staged data {} of image {}", obj.name, obj.image_id);
    if (Status s = staging->DeleteObject(obj); !s.ok()) spdlog::warn("could not remove {}: {}", obj.name, s.ToString());
  }
  return Status::Ok();
}

Status ApiService::SweepOne(store::Backend& backend, int* left) {
  auto& catalog = impl_->catalog;
  // List the store before reading the live locks: an upload that starts in between
  // creates its object after the listing, so it is never mistaken for debris.
  auto objects = backend.ListObjects();
  if (!objects.ok()) return objects.status();
  auto live = catalog.LiveUploads();
  if (!live.ok()) return live.status();
  std::set<std::string> live_tokens, uploading;
  for (const auto& l : *live) {
    live_tokens.insert(l.token);
    uploading.insert(l.image_id);
  }
  // Only "in use" failures (an RBD image a dead client still watches) are worth a quick
  // retry; anything else waits for the regular round.
  auto failed = [&](const store::StoredObject& obj, const Status& s) {
    spdlog::warn("could not remove {} yet: {}", obj.name, s.ToString());
    if (s.code() == Status::Code::kConflict) ++*left;
  };
  for (const auto& obj : *objects) {
    if (!obj.upload_token.empty()) {
      if (!live_tokens.count(obj.upload_token)) {
        spdlog::info("removing partial upload {} of image {} from store {}", obj.name, obj.image_id, backend.id());
        Status s = backend.DeleteObject(obj);
        if (!s.ok()) failed(obj, s);
      }
      continue;
    }
    // Committed data whose image never became active (crash between the store's commit
    // and the catalog's) or whose image is deleted: nobody references it. Not while an
    // upload of that image is live: it may be between those two commits right now.
    if (uploading.count(obj.image_id)) continue;
    auto img = catalog.GetImageAnyStatus(obj.image_id);
    if (!img.ok()) continue;  // unknown to this catalog: not ours to judge, leave it
    std::string where = backend.LocationFor(obj.image_id);
    bool referenced = std::any_of(img->locations.begin(), img->locations.end(),
                                  [&](const catalog::ImageLocation& l) { return l.url == where; });
    if (!referenced && (img->status == catalog::kQueued || img->status == catalog::kDeleted ||
                        img->status == catalog::kUploading)) {
      spdlog::info("removing unreferenced data {} of {} image {}", obj.name, img->status, obj.image_id);
      Status s = backend.DeleteObject(obj);
      if (!s.ok()) failed(obj, s);
    }
  }
  return Status::Ok();
}

}  // namespace glint::control
