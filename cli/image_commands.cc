// image-create, image-upload, image-download, image-list, image-show, image-update,
// image-delete.
#include "cli/commands.h"
#include "cli/image_attrs.h"
#include "cli/output.h"
#include "common/ids.h"

namespace glint::cli {

namespace {

void AddCreate(CLI::App& app, Globals& g) {
  static Attrs attrs;
  static std::string id, file, store;
  static std::vector<std::string> tags;
  static bool progress = false;
  auto* create = app.add_subcommand("image-create", "create an image (and upload its data with --file)");
  AddAttrs(create, attrs);
  create->add_option("--id", id, "image id to use");
  create->add_option("--tags", tags, "tags")->delimiter(',');
  create->add_option("--file", file, "upload this file as the image data");
  create->add_flag("--progress", progress, "show a progress bar");
  create->add_option("--store", store, "store to upload --file to (multi-store; see stores-info)");
  create->callback([&] {
    Api api(g);
    json body = AttrsJson(attrs);
    if (!id.empty()) body["id"] = id;
    if (!tags.empty()) body["tags"] = tags;
    json img = api.Call("POST", "/v2/images", &body);
    if (!file.empty()) {
      api.SendData(img["id"].get<std::string>(), file, progress, "file", store);
      img = api.Call("GET", "/v2/images/" + img["id"].get<std::string>());
    }
    PrintObject(img);
  });
}

void AddTransfer(CLI::App& app, Globals& g) {
  static std::string up_id, up_file, up_store;
  static bool up_progress = false;
  auto* upload = app.add_subcommand("image-upload", "upload data for an image");
  upload->add_option("--file", up_file, "file to upload")->required();
  upload->add_flag("--progress", up_progress, "show a progress bar");
  upload->add_option("--store", up_store, "store to upload to (multi-store; see stores-info)");
  upload->add_option("id", up_id, "image id")->required();
  upload->callback([&] { Api(g).SendData(up_id, up_file, up_progress, "file", up_store); });

  static std::string dl_id, dl_file;
  static bool dl_progress = false;
  auto* download = app.add_subcommand("image-download", "download an image's data");
  download->add_option("--file", dl_file, "write here (default: standard output)");
  download->add_flag("--progress", dl_progress, "show a progress bar");
  download->add_option("id", dl_id, "image id")->required();
  download->callback([&] { Api(g).Download(dl_id, dl_file, dl_progress); });
}

void AddUpdate(CLI::App& app, Globals& g) {
  static Attrs attrs;
  static std::string id;
  static std::vector<std::string> remove_props;
  auto* update = app.add_subcommand("image-update", "change an image's metadata");
  AddAttrs(update, attrs);
  update->add_option("--remove-property", remove_props, "custom property to remove (repeatable)");
  update->add_option("id", id, "image id")->required();
  update->callback([&] {
    Api api(g);
    json current = api.Call("GET", "/v2/images/" + id);
    json patch = json::array();
    json changes = AttrsJson(attrs);
    for (auto& [k, v] : changes.items()) {
      std::string path = "/" + k;
      patch.push_back({{"op", current.contains(k) ? "replace" : "add"}, {"path", path}, {"value", v}});
    }
    for (const auto& k : remove_props) patch.push_back({{"op", "remove"}, {"path", "/" + k}});
    json img = patch.empty() ? current
                             : api.Call("PATCH", "/v2/images/" + id, &patch,
                                        "application/openstack-images-v2.1-json-patch");
    PrintObject(img);
  });

  static std::vector<std::string> del_ids;
  auto* del = app.add_subcommand("image-delete", "delete images");
  del->add_option("ids", del_ids, "image ids")->required();
  del->callback([&] {
    Api api(g);
    for (const auto& d : del_ids) api.Call("DELETE", "/v2/images/" + d);
  });
}

}  // namespace

void AddImageCommands(CLI::App& app, Globals& g) {
  AddCreate(app, g);
  AddTransfer(app, g);
  AddUpdate(app, g);
}

void AddImageListCommands(CLI::App& app, Globals& g) {
  static int list_limit = 0, page_size = 100;
  static std::vector<std::string> list_props, list_tags;
  static std::optional<std::string> list_visibility, list_sort;
  auto* list = app.add_subcommand("image-list", "list images");
  list->add_option("--limit", list_limit, "at most this many images (0 = all)");
  list->add_option("--page-size", page_size, "images per request");
  list->add_option("--property-filter", list_props, "KEY=VALUE filter (repeatable)");
  list->add_option("--tag", list_tags, "only images with this tag (repeatable)");
  list->add_option("--visibility", list_visibility, "public, private, shared, community or all");
  list->add_option("--sort", list_sort, "KEY[:DIR],... e.g. name:asc");
  list->callback([&] {
    Api api(g);
    std::string query = "limit=" + std::to_string(page_size);
    for (const auto& kv : list_props) {
      auto [k, v] = SplitKv(kv);
      query += "&" + PercentEncode(k) + "=" + PercentEncode(v);
    }
    for (const auto& t : list_tags) query += "&tag=" + PercentEncode(t);
    if (list_visibility) query += "&visibility=" + PercentEncode(*list_visibility);
    if (list_sort) query += "&sort=" + PercentEncode(*list_sort);
    std::vector<std::vector<std::string>> rows;
    std::string next = "/v2/images?" + query;
    while (!next.empty()) {
      json page = api.Call("GET", next);
      for (const auto& img : page["images"]) {
        rows.push_back({Cell(img["id"]), Cell(img["name"])});
        if (list_limit > 0 && static_cast<int>(rows.size()) >= list_limit) break;
      }
      if (list_limit > 0 && static_cast<int>(rows.size()) >= list_limit) break;
      next = page.contains("next") && page["next"].is_string() ? page["next"].get<std::string>() : "";
    }
    PrintTable({"ID", "Name"}, rows);
  });

  static std::string show_id;
  auto* show = app.add_subcommand("image-show", "show an image's metadata");
  show->add_option("id", show_id, "image id")->required();
  show->callback([&] { PrintObject(Api(g).Call("GET", "/v2/images/" + show_id)); });
}

}  // namespace glint::cli
