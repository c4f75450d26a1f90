#include "control/notifications.h"

#include "common/ids.h"

namespace glint::control {

using nlohmann::json;

namespace {

json ListProperty(const catalog::ImageRecord& img, const std::string& key) {
  json out = json::array();
  auto it = img.properties.find(key);
  if (it == img.properties.end()) return out;
  std::string_view v = it->second;
  while (!v.empty()) {
    size_t comma = v.find(',');
    if (comma != 0) out.push_back(std::string(v.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

json ImagePayload(const catalog::ImageRecord& img) {
  json properties = json::object();
  for (const auto& [k, v] : img.properties) properties[k] = v;
  return {{"id", img.id},
          {"name", OrNull(img.name)},
          {"status", img.status},
          {"created_at", FormatIsoSeconds(img.created_at)},
          {"updated_at", FormatIsoSeconds(img.updated_at)},
          {"min_disk", img.min_disk},
          {"min_ram", img.min_ram},
          {"protected", img.is_protected},
          {"checksum", OrNull(img.checksum)},
          {"owner", OrNull(img.owner)},
          {"disk_format", OrNull(img.disk_format)},
          {"container_format", OrNull(img.container_format)},
          {"size", OrNull(img.size)},
          {"virtual_size", OrNull(img.virtual_size)},
          {"is_public", img.visibility == "public"},
          {"visibility", img.visibility},
          {"properties", properties},
          {"tags", img.tags},
          {"deleted", false},
          {"deleted_at", nullptr}};
}

json MemberPayload(const catalog::ImageMember& m) {
  return {{"image_id", m.image_id},          {"member_id", m.member},
          {"status", m.status},              {"created_at", FormatIsoSeconds(m.created_at)},
          {"updated_at", FormatIsoSeconds(m.updated_at)}, {"deleted", false},
          {"deleted_at", nullptr}};
}

json TaskPayload(const catalog::TaskRecord& t) {
  return {{"id", t.id},
          {"type", t.type},
          {"status", t.status},
          {"result", nullptr},
          {"owner", OrNull(t.owner)},
          {"message", nullptr},
          {"expires_at", t.expires_at ? json(FormatIsoSeconds(*t.expires_at)) : json()},
          {"created_at", FormatIsoSeconds(t.created_at)},
          {"updated_at", FormatIsoSeconds(t.updated_at)},
          {"deleted", false},
          {"deleted_at", nullptr}};
}

void NotifyImage(const ApiContext& api, std::string_view event, const catalog::ImageRecord& img) {
  if (!api.notifier || !api.notifier->Enabled(event)) return;
  json payload = ImagePayload(img);
  if (event == "image.prepare" || event == "image.upload") {
    payload["os_glance_importing_to_stores"] = ListProperty(img, "os_glance_importing_to_stores");
    payload["os_glance_failed_import"] = ListProperty(img, "os_glance_failed_import");
  } else if (event == "image.delete") {
    payload["deleted"] = true;
    payload["deleted_at"] = FormatIsoSeconds(api.Now());
  }
  api.notifier->Emit(event, std::move(payload));
}

void NotifyImageNow(const ApiContext& api, std::string_view event, const std::string& image_id) {
  if (!api.notifier || !api.notifier->Enabled(event)) return;
  auto img = api.catalog.GetImage(image_id);
  if (img.ok()) NotifyImage(api, event, *img);
}

void NotifyUploadError(const ApiContext& api, const std::string& message) {
  if (api.notifier) api.notifier->Emit("image.upload", message, notify::Priority::kError);
}

void NotifySend(const ApiContext& api, const catalog::ImageRecord& img, const auth::RequestContext& reader,
                int64_t sent, int64_t due) {
  if (!api.notifier) return;
  api.notifier->Emit("image.send",
                     {{"bytes_sent", sent},
                      {"image_id", img.id},
                      {"owner_id", OrNull(img.owner)},
                      {"receiver_tenant_id", OrNull(reader.project_id)},
                      {"receiver_user_id", OrNull(reader.user_id)}},
                     sent == due ? notify::Priority::kInfo : notify::Priority::kError);
}

void NotifyMember(const ApiContext& api, std::string_view event, const catalog::ImageMember& m) {
  if (!api.notifier) return;
  json payload = MemberPayload(m);
  if (event == "image.member.delete") {
    payload["deleted"] = true;
    payload["deleted_at"] = FormatIsoSeconds(api.Now());
  }
  api.notifier->Emit(event, std::move(payload));
}

void NotifyTask(const ApiContext& api, std::string_view event, const std::string& task_id) {
  if (!api.notifier || !api.notifier->Enabled(event)) return;
  auto task = api.catalog.GetTask(task_id);
  if (task.ok()) api.notifier->Emit(event, TaskPayload(*task));
}

}  // namespace glint::control
