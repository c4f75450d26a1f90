// Interoperable import (import-info, image-stage, image-import, image-create-via-import)
// and tasks (task-list, task-show, image-tasks), with glanceclient's names, flags and
// checks.
#include <unistd.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/image_attrs.h"
#include "cli/output.h"
#include "common/ids.h"

namespace glint::cli {

namespace {

// Where and how to import: the flags image-import and image-create-via-import share.
struct ImportRequest {
  std::string method;
  std::string uri, store, stores;
  std::optional<std::string> all_stores, allow_failure;
};

void AddImportFlags(CLI::App* c, ImportRequest& r) {
  c->add_option("--import-method", r.method,
                "glance-direct, web-download or copy-image (env OS_IMAGE_IMPORT_METHOD)");
  c->add_option("--uri", r.uri, "URI to download the image from (web-download)");
  c->add_option("--store", r.store, "store to import into");
  c->add_option("--stores", r.stores, "stores to import into, comma-separated");
  c->add_option("--all-stores", r.all_stores, "True: import into every store");
  c->add_option("--allow-failure", r.allow_failure,
                "True (default): the import succeeds if at least one store does");
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// The flag combinations glanceclient refuses before sending anything.
void CheckImportFlags(const ImportRequest& r) {
  bool all = r.all_stores && ToBool(*r.all_stores);
  if ((!r.store.empty() && (!r.stores.empty() || all)) || (!r.stores.empty() && all)) {
    Die("Only one of --store, --stores and --all-stores can be provided");
  }
  if (r.method == "web-download" && r.uri.empty()) Die("Provide URI for web-download import method.");
  if (!r.uri.empty() && r.method != "web-download") {
    Die("Import method should be 'web-download' if URI is provided.");
  }
  if (r.method == "copy-image" && r.stores.empty() && !all) {
    Die("Provide either --stores or --all-stores for 'copy-image' import method.");
  }
}

void CheckMethodOffered(Api& api, const std::string& method) {
  json info = api.Call("GET", "/v2/info/import");
  const json& offered = info["import-methods"]["value"];
  if (!offered.is_array() || std::find(offered.begin(), offered.end(), method) == offered.end()) {
    Die("Import method '" + method + "' is not valid for this cloud. Valid values can be "
        "retrieved with import-info command.");
  }
}

// POST /v2/images/{id}/import with glanceclient's body.
void StartImport(Api& api, const std::string& id, const ImportRequest& r) {
  json body = {{"method", {{"name", r.method}}}};
  if (!r.uri.empty()) body["method"]["uri"] = r.uri;
  bool allow_failure = !r.allow_failure || ToBool(*r.allow_failure);
  if (!r.stores.empty()) body["stores"] = SplitList(r.stores);
  if (r.all_stores && ToBool(*r.all_stores)) body["all_stores"] = true;
  if (body.contains("stores") || body.contains("all_stores")) {
    if (allow_failure) body["all_stores_must_succeed"] = false;
  }
  // A single --store goes in a header, as glanceclient sends it.
  client::HeaderList headers;
  if (!r.store.empty()) headers.emplace_back("X-Image-Meta-Store", r.store);
  api.Call("POST", "/v2/images/" + id + "/import", &body, "application/json", nullptr, headers);
}

void AddStageAndImport(CLI::App& app, Globals& g) {
  static std::string stage_id, stage_file;
  static bool stage_progress = false;
  auto* stage = app.add_subcommand("image-stage", "upload data to an image's staging area");
  stage->add_option("--file", stage_file, "file to stage")->required();
  stage->add_flag("--progress", stage_progress, "show a progress bar");
  stage->add_option("id", stage_id, "image id")->required();
  stage->callback([&] { Api(g).SendData(stage_id, stage_file, stage_progress, "stage"); });

  static ImportRequest req;
  static std::string import_id;
  auto* imp = app.add_subcommand("image-import", "start importing an image's data");
  AddImportFlags(imp, req);
  imp->add_option("id", import_id, "image id")->required();
  imp->callback([&] {
    if (req.method.empty()) req.method = *Env("OS_IMAGE_IMPORT_METHOD") ? Env("OS_IMAGE_IMPORT_METHOD") : "glance-direct";
    CheckImportFlags(req);
    Api api(g);
    CheckMethodOffered(api, req.method);
    json img = api.Call("GET", "/v2/images/" + import_id);
    if (!img["container_format"].is_string() || !img["disk_format"].is_string()) {
      Die("The 'container_format' and 'disk_format' properties must be set on an image before "
          "it can be imported.");
    }
    StartImport(api, import_id, req);
    PrintObject(api.Call("GET", "/v2/images/" + import_id));
  });
}

void AddCreateViaImport(CLI::App& app, Globals& g) {
  static Attrs attrs;
  static ImportRequest req;
  static std::string file;
  static bool progress = false;
  auto* c = app.add_subcommand("image-create-via-import", "create an image and import its data");
  AddAttrs(c, attrs);
  AddImportFlags(c, req);
  c->add_option("--file", file, "file to stage and import (glance-direct)");
  c->add_flag("--progress", progress, "show a progress bar");
  c->callback([&] {
    if (req.method.empty()) req.method = Env("OS_IMAGE_IMPORT_METHOD");
    if (req.method.empty() && !file.empty()) req.method = "glance-direct";
    if (req.method == "copy-image") Die("Import method 'copy-image' cannot be used while creating the image.");
    if (req.method.empty() && !req.uri.empty()) Die("You cannot use --uri without specifying an import method.");
    if (req.method == "glance-direct" && file.empty()) {
      Die("You must specify a --file or provide data via stdin for the glance-direct import method.");
    }
    if (req.method == "web-download" && !file.empty()) {
      Die("You cannot specify a --file with the web-download import method.");
    }
    if (!file.empty() && ::access(file.c_str(), R_OK) != 0) {
      Die("File " + file + " does not exist or user does not have read privileges to it.");
    }
    if (!req.method.empty()) CheckImportFlags(req);
    Api api(g);
    if (!req.method.empty()) CheckMethodOffered(api, req.method);
    json create = AttrsJson(attrs);
    json img = api.Call("POST", "/v2/images", &create);
    std::string id = img["id"].get<std::string>();
    if (!file.empty()) api.SendData(id, file, progress, "stage");
    if (!req.method.empty()) StartImport(api, id, req);
    PrintObject(api.Call("GET", "/v2/images/" + id));
  });

  auto* info = app.add_subcommand("import-info", "show the import methods this cloud offers");
  info->callback([&] { PrintObject(Api(g).Call("GET", "/v2/info/import")); });
}

}  // namespace

void AddImportCommands(CLI::App& app, Globals& g) {
  AddStageAndImport(app, g);
  AddCreateViaImport(app, g);
}

void AddTaskCommands(CLI::App& app, Globals& g) {
  static std::string sort_key = "status", sort_dir = "desc";
  static std::optional<int> page_size;
  static std::optional<std::string> type, status;
  auto* list = app.add_subcommand("task-list", "list the tasks you can see");
  list->add_option("--sort-key", sort_key, "sort by this attribute (default status)");
  list->add_option("--sort-dir", sort_dir, "asc or desc (default desc)");
  list->add_option("--page-size", page_size, "tasks per request");
  list->add_option("--type", type, "only tasks of this type");
  list->add_option("--status", status, "only tasks in this status");
  list->callback([&] {
    Api api(g);
    std::string q = "sort_key=" + PercentEncode(sort_key) + "&sort_dir=" + PercentEncode(sort_dir);
    if (page_size) q += "&limit=" + std::to_string(*page_size);
    if (type) q += "&type=" + PercentEncode(*type);
    if (status) q += "&status=" + PercentEncode(*status);
    std::vector<std::vector<std::string>> rows;
    for (std::string next = "/v2/tasks?" + q; !next.empty();) {
      json page = api.Call("GET", next);
      for (const auto& t : page["tasks"]) {
        rows.push_back({Cell(t["id"]), Cell(t["type"]), Cell(t["status"]), Cell(t["owner"])});
      }
      next = page.contains("next") && page["next"].is_string() ? page["next"].get<std::string>() : "";
    }
    PrintTable({"ID", "Type", "Status", "Owner"}, rows);
  });

  static std::string task_id, image_id;
  auto* show = app.add_subcommand("task-show", "show a task");
  show->add_option("id", task_id, "task id")->required();
  show->callback([&] { PrintObject(Api(g).Call("GET", "/v2/tasks/" + task_id)); });
  auto* tasks = app.add_subcommand("image-tasks", "show the tasks of an image");
  tasks->add_option("id", image_id, "image id")->required();
  tasks->callback([&] {
    json out = Api(g).Call("GET", "/v2/images/" + image_id + "/tasks");
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : out["tasks"]) {
      rows.push_back({Cell(t["id"]), Cell(t["type"]), Cell(t["status"]), Cell(t["message"])});
    }
    PrintTable({"ID", "Type", "Status", "Message"}, rows);
  });
}

}  // namespace glint::cli
