// Stores (multi-store) and locations (show_multiple_locations).
#include <algorithm>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/ids.h"

namespace glint::cli {

void AddStoreCommands(CLI::App& app, Globals& g) {
  static bool stores_detail = false;
  auto* stores_info = app.add_subcommand("stores-info", "list the stores images can go to");
  stores_info->add_flag("--detail", stores_detail, "with each store's type and properties (admin)");
  stores_info->callback([&] {
    json info = Api(g).Call("GET", stores_detail ? "/v2/info/stores/detail" : "/v2/info/stores");
    std::vector<std::vector<std::string>> rows;
    for (const auto& st : info["stores"]) {
      std::vector<std::string> row = {Cell(st["id"]), st.contains("default") && st["default"] == true ? "yes" : "",
                                      st.contains("description") ? Cell(st["description"]) : ""};
      if (stores_detail) row.push_back(st.contains("type") ? Cell(st["type"]) : "");
      rows.push_back(row);
    }
    std::vector<std::string> header = {"ID", "Default", "Description"};
    if (stores_detail) header.push_back("Type");
    PrintTable(header, rows);
  });
  static std::string sd_store, sd_id;
  auto* stores_delete = app.add_subcommand("stores-delete", "remove an image's data from one store");
  stores_delete->add_option("--store", sd_store, "store id")->required();
  stores_delete->add_option("id", sd_id, "image id")->required();
  stores_delete->callback([&] { Api(g).Call("DELETE", "/v2/stores/" + PercentEncode(sd_store) + "/" + sd_id); });
}

void AddLocationCommands(CLI::App& app, Globals& g) {
  static std::string loc_id, loc_url, loc_meta = "{}", loc_validation;
  auto* loc_add = app.add_subcommand("location-add", "add a location (URL of data already in a store)");
  loc_add->add_option("--url", loc_url, "location URL, e.g. rbd://fsid/pool/image/snap")->required();
  loc_add->add_option("--metadata", loc_meta, "location metadata (JSON object)");
  loc_add->add_option("--validation-data", loc_validation, "checksum, os_hash_algo, os_hash_value (JSON)");
  loc_add->add_option("id", loc_id, "image id")->required();
  loc_add->callback([&] {
    json meta = json::parse(loc_meta, nullptr, false);
    if (!meta.is_object()) Die("--metadata must be a JSON object");
    json value = {{"url", loc_url}, {"metadata", meta}};
    if (!loc_validation.empty()) {
      json v = json::parse(loc_validation, nullptr, false);
      if (!v.is_object()) Die("--validation-data must be a JSON object");
      value["validation_data"] = v;
    }
    json patch = json::array({{{"op", "add"}, {"path", "/locations/-"}, {"value", value}}});
    PrintObject(Api(g).Call("PATCH", "/v2/images/" + loc_id, &patch, "application/openstack-images-v2.1-json-patch"));
  });
  static std::vector<std::string> loc_urls;
  auto* loc_delete = app.add_subcommand("location-delete", "remove locations of an image");
  loc_delete->add_option("--url", loc_urls, "location URL (repeatable)")->required();
  loc_delete->add_option("id", loc_id, "image id")->required();
  loc_delete->callback([&] {
    Api api(g);
    json img = api.Call("GET", "/v2/images/" + loc_id);
    if (!img.contains("locations")) Die("the server does not show locations (show_multiple_locations is off)");
    json patch = json::array();
    // Indexes from the back, so earlier removals do not shift later ones.
    for (size_t i = img["locations"].size(); i-- > 0;) {
      const auto& l = img["locations"][i];
      if (std::find(loc_urls.begin(), loc_urls.end(), Cell(l["url"])) != loc_urls.end()) {
        patch.push_back({{"op", "remove"}, {"path", "/locations/" + std::to_string(i)}});
      }
    }
    if (patch.size() != loc_urls.size()) Die("not every --url is a location of image " + loc_id);
    api.Call("PATCH", "/v2/images/" + loc_id, &patch, "application/openstack-images-v2.1-json-patch");
  });
}

}  // namespace glint::cli
