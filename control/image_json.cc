#include "control/image_json.h"

#include <cstdio>

#include "common/ids.h"
#include "control/stage_host.h"

namespace glint::control {

using catalog::ImageRecord;
using nlohmann::json;

namespace {

// Glance's task times: 2024-01-02T03:04:05.000000
json TaskTime(std::optional<int64_t> t) {
  if (!t) return nullptr;
  std::string s = FormatIsoSeconds(*t);
  s.pop_back();
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(*t % 1000000));
  return s + frac;
}

}  // namespace

void WriteImage(JsonWriter& w, const ImageRecord& img, const ImageJsonOptions& o) {
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
    if (k == kStageHostProperty) continue;  // hidden, as in Glance
    if (o.protections && !o.protections->Allowed(k, auth::PropertyOp::kRead, *o.reader)) continue;
    w.Key(k);
    w.String(v);
  }
  if (o.show_direct_url && !img.locations.empty()) {
    w.Key("direct_url");
    w.String(img.locations.front().url);
  }
  if (o.show_locations) {
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
  if (o.multi_store) {  // Glance's `stores`: where the data is, comma-separated
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

HttpResponse ImageResponse(int status, const ImageRecord& img, const ImageJsonOptions& options) {
  HttpResponse r;
  r.status = status;
  JsonWriter w(r.body);
  WriteImage(w, img, options);
  r.Set("Content-Type", "application/json");
  return r;
}

json MemberJson(const catalog::ImageMember& m) {
  return {{"created_at", FormatIsoSeconds(m.created_at)}, {"updated_at", FormatIsoSeconds(m.updated_at)},
          {"image_id", m.image_id}, {"member_id", m.member}, {"status", m.status},
          {"schema", "/v2/schemas/member"}};
}

json TaskJson(const catalog::TaskRecord& t) {
  json input = json::parse(t.input_json, nullptr, false);
  json result = t.result_json ? json::parse(*t.result_json, nullptr, false) : json();
  return {{"id", t.id}, {"type", t.type}, {"status", t.status}, {"owner", t.owner ? json(*t.owner) : json()},
          {"expires_at", TaskTime(t.expires_at)}, {"created_at", TaskTime(t.created_at)},
          {"updated_at", TaskTime(t.updated_at)}, {"deleted_at", nullptr}, {"deleted", false},
          {"image_id", t.image_id}, {"request_id", t.request_id ? json(*t.request_id) : json()},
          {"user_id", t.user_id ? json(*t.user_id) : json()},
          {"input", input.is_discarded() ? json::object() : input},
          {"result", result.is_discarded() ? json() : result}, {"message", t.message}};
}

}  // namespace glint::control
