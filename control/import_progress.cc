#include "control/import_progress.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <map>

namespace glint::control {
namespace {

std::vector<std::string> SplitCommaList(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// Applies `edit` to the image's properties, re-reading and retrying when another writer
// changed the image in between (bounded: progress is advisory).
void EditProperties(const ApiContext& api, const std::string& image_id,
                    const std::function<void(std::map<std::string, std::string>&)>& edit) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto img = api.catalog.GetImage(image_id);
    if (!img.ok()) return;  // deleted meanwhile: nothing to show progress on
    auto before = img->properties;
    edit(img->properties);
    if (img->properties == before) return;
    Status s = api.catalog.UpdateImage(*img);
    if (s.ok()) return;
    if (s.code() != Status::Code::kConflict) {
      spdlog::warn("image {}: could not record import progress: {}", image_id, s.ToString());
      return;
    }
  }
  spdlog::warn("image {}: import progress not recorded (the image kept changing)", image_id);
}

void SetList(std::map<std::string, std::string>& props, const char* key, const std::vector<std::string>& add,
             const std::vector<std::string>& remove) {
  auto it = props.find(key);
  props[key] = EditStoreList(it == props.end() ? "" : it->second, add, remove);  // present, maybe empty (Glance)
}

}  // namespace

std::string EditStoreList(const std::string& list, const std::vector<std::string>& add,
                          const std::vector<std::string>& remove) {
  std::vector<std::string> items = SplitCommaList(list);
  for (const auto& a : add) {
    if (std::find(items.begin(), items.end(), a) == items.end()) items.push_back(a);
  }
  std::string out;
  for (const auto& i : items) {
    if (std::find(remove.begin(), remove.end(), i) != remove.end()) continue;
    out += (out.empty() ? "" : ",") + i;
  }
  return out;
}

void MarkImporting(ApiContext& api, const std::string& image_id, const std::vector<std::string>& stores) {
  EditProperties(api, image_id, [&](std::map<std::string, std::string>& p) {
    SetList(p, kImportingToStores, stores, {});
    SetList(p, kFailedImport, {}, stores);
  });
}

void MarkStoreDone(ApiContext& api, const std::string& image_id, const std::string& store, bool failed) {
  EditProperties(api, image_id, [&](std::map<std::string, std::string>& p) {
    SetList(p, kImportingToStores, {}, {store});
    if (failed) SetList(p, kFailedImport, {store}, {});
  });
}

void MarkImportTask(const ApiContext& api, const std::string& image_id, const std::string& task_id) {
  EditProperties(api, image_id, [&](std::map<std::string, std::string>& p) { p[kImportTask] = task_id; });
}

void ClearImportTask(const ApiContext& api, const std::string& image_id, const std::string& task_id) {
  EditProperties(api, image_id, [&](std::map<std::string, std::string>& p) {
    auto it = p.find(kImportTask);
    if (it != p.end() && it->second == task_id) p.erase(it);
  });
}

}  // namespace glint::control
