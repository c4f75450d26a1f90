// glint: command-line client with python-glanceclient's subcommand names and flags for
// the everyday image lifecycle. Talks to any Glance v2 compatible endpoint.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/ids.h"
#include "client/http_client.h"

using nlohmann::json;
using namespace glint;
using namespace glint::client;

namespace {

struct Globals {
  std::string url;
  std::string token;
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "glint: %s\n", msg.c_str());
  std::exit(1);
}

// Shows an error answer in one line: "404 Not Found: No image found with ID ...".
[[noreturn]] void DieHttp(const ClientResponse& r) {
  std::string msg;
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_discarded() && body.is_object()) {
    for (auto& [k, v] : body.items()) {
      if (v.is_object() && v.contains("message") && v["message"].is_string()) {
        msg = v["message"].get<std::string>();
      }
    }
  }
  if (msg.empty()) msg = r.body.substr(0, 200);
  Die("HTTP " + std::to_string(r.status) + ": " + msg);
}

class Progress {
 public:
  Progress(bool enabled, uint64_t total) : enabled_(enabled && ::isatty(2)), total_(total) {}
  void Add(uint64_t n) {
    done_ += n;
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && done_ < total_) return;
    last_ = now;
    int pct = total_ ? static_cast<int>(100 * done_ / total_) : 100;
    int bars = pct * 40 / 100;
    std::fprintf(stderr, "\r[%-40s] %3d%% %8.1f MiB", std::string(bars, '=').c_str(), pct,
                 done_ / 1048576.0);
    std::fflush(stderr);
  }
  ~Progress() {
    if (enabled_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  uint64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

class Api {
 public:
  explicit Api(const Globals& g) : g_(g) {
    if (g.url.empty()) Die("no image service URL: set OS_IMAGE_URL or --os-image-url");
    if (g.token.empty()) Die("no token: set OS_AUTH_TOKEN or --os-auth-token");
    auto c = HttpClient::Create(g.url);
    if (!c.ok()) Die(c.status().message());
    client_ = std::move(c).value();
    std::string u = g.url;
    size_t scheme = u.find("://");
    size_t slash = u.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    prefix_ = slash == std::string::npos ? "" : u.substr(slash);
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
    // Accept both http://host:9292 and http://host:9292/v2 as the endpoint.
    if (prefix_.size() >= 3 && prefix_.compare(prefix_.size() - 3, 3, "/v2") == 0) {
      prefix_.resize(prefix_.size() - 3);
    }
  }

  json Call(const std::string& method, const std::string& path, const json* body = nullptr,
            const std::string& content_type = "application/json", int* status = nullptr) {
    HeaderList h = Auth();
    std::string payload;
    if (body) {
      h.emplace_back("Content-Type", content_type);
      payload = body->dump();
    }
    auto r = client_->Request(method, prefix_ + path, h, payload);
    if (!r.ok()) Die(r.status().message());
    if (r->status >= 400) DieHttp(*r);
    if (status) *status = r->status;
    if (r->body.empty()) return json();
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) Die("the server answered with malformed JSON");
    return j;
  }

  void Upload(const std::string& id, const std::string& file, bool progress, const std::string& store = "") {
    int fd = file == "-" ? 0 : ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Die("cannot open " + file + ": " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) Die(file + " is not a regular file");
    uint64_t size = static_cast<uint64_t>(st.st_size);
    Progress bar(progress, size);
    HeaderList h = Auth();
    h.emplace_back("Content-Type", "application/octet-stream");
    if (!store.empty()) h.emplace_back("X-Image-Meta-Store", store);  // multi-store: where to
    auto r = client_->Upload("PUT", prefix_ + "/v2/images/" + id + "/file", h, size,
                             [&](char* buf, size_t max) -> Result<size_t> {
                               ssize_t n = ::read(fd, buf, max);
                               if (n < 0) return Status::FromErrno(errno, "read " + file);
                               bar.Add(static_cast<uint64_t>(n));
                               return static_cast<size_t>(n);
                             });
    if (fd != 0) ::close(fd);
    if (!r.ok()) Die(r.status().message());
    if (r->status >= 400) DieHttp(*r);
  }

  void Download(const std::string& id, const std::string& file, bool progress) {
    json img = Call("GET", "/v2/images/" + id);
    uint64_t size = img["size"].is_number() ? img["size"].get<uint64_t>() : 0;
    if (file.empty() && ::isatty(1)) Die("refusing to write image data to a terminal: use --file");
    int fd = file.empty() ? 1 : ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("cannot create " + file + ": " + std::strerror(errno));
    Progress bar(progress, size);
    Digest md5(Digest::Algorithm::kMd5);
    auto r = client_->Download(prefix_ + "/v2/images/" + id + "/file", Auth(),
                               [&](const char* data, size_t n) -> Status {
                                 md5.Update(data, n);
                                 size_t off = 0;
                                 while (off < n) {
                                   ssize_t w = ::write(fd, data + off, n - off);
                                   if (w < 0) return Status::FromErrno(errno, "write " + file);
                                   off += static_cast<size_t>(w);
                                 }
                                 bar.Add(n);
                                 return Status::Ok();
                               });
    if (!r.ok()) Die(r.status().message());
    if (r->status >= 400) DieHttp(*r);
    if (r->status == 204) Die("image " + id + " has no data");
    if (fd != 1 && ::close(fd) != 0) Die("close " + file + ": " + std::strerror(errno));
    std::string expected = r->Header("content-md5");
    std::string got = md5.FinishHex();
    if (!expected.empty() && expected != got) {
      Die("corrupt download: md5 " + got + " does not match the image checksum " + expected);
    }
  }

 private:
  HeaderList Auth() const { return {{"X-Auth-Token", g_.token}}; }
  const Globals& g_;
  std::unique_ptr<HttpClient> client_;
  std::string prefix_;
};

std::string Cell(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + Cell(x);
    return s;
  }
  return v.dump();
}

void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  auto line = [&] {
    std::string s = "+";
    for (size_t x : w) s += std::string(x + 2, '-') + "+";
    std::cout << s << "\n";
  };
  auto row = [&](const std::vector<std::string>& r) {
    std::string s = "|";
    for (size_t i = 0; i < r.size(); ++i) s += " " + r[i] + std::string(w[i] - r[i].size(), ' ') + " |";
    std::cout << s << "\n";
  };
  line();
  row(header);
  line();
  for (const auto& r : rows) row(r);
  line();
}

void PrintImage(const json& img) {
  std::vector<std::vector<std::string>> rows;
  for (auto& [k, v] : img.items()) {
    if (k == "self" || k == "file" || k == "schema") continue;
    rows.push_back({k, Cell(v)});
  }
  PrintTable({"Property", "Value"}, rows);
}

std::pair<std::string, std::string> SplitKv(const std::string& kv) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) Die("expected KEY=VALUE, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Options shared by image-create and image-update.
struct Attrs {
  std::optional<std::string> name, disk_format, container_format, visibility, owner;
  std::optional<int64_t> min_disk, min_ram;
  std::optional<std::string> is_protected, hidden;
  std::vector<std::string> properties;
};

void AddAttrs(CLI::App* c, Attrs& a) {
  c->add_option("--name", a.name, "image name");
  c->add_option("--disk-format", a.disk_format, "disk format (raw, qcow2, ...)");
  c->add_option("--container-format", a.container_format, "container format (bare, ...)");
  c->add_option("--visibility", a.visibility, "public, private, shared or community");
  c->add_option("--owner", a.owner, "owning project");
  c->add_option("--min-disk", a.min_disk, "minimum disk in GiB");
  c->add_option("--min-ram", a.min_ram, "minimum RAM in MiB");
  c->add_option("--protected", a.is_protected, "True or False");
  c->add_option("--os-hidden", a.hidden, "True or False");
  c->add_option("--property", a.properties, "custom property KEY=VALUE (repeatable)");
}

bool ToBool(const std::string& s) {
  std::string l = s;
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "true" || l == "1" || l == "yes") return true;
  if (l == "false" || l == "0" || l == "no") return false;
  Die("expected True or False, got '" + s + "'");
}

json AttrsJson(const Attrs& a) {
  json j = json::object();
  if (a.name) j["name"] = *a.name;
  if (a.disk_format) j["disk_format"] = *a.disk_format;
  if (a.container_format) j["container_format"] = *a.container_format;
  if (a.visibility) j["visibility"] = *a.visibility;
  if (a.owner) j["owner"] = *a.owner;
  if (a.min_disk) j["min_disk"] = *a.min_disk;
  if (a.min_ram) j["min_ram"] = *a.min_ram;
  if (a.is_protected) j["protected"] = ToBool(*a.is_protected);
  if (a.hidden) j["os_hidden"] = ToBool(*a.hidden);
  for (const auto& kv : a.properties) {
    auto [k, v] = SplitKv(kv);
    j[k] = v;
  }
  return j;
}

// Option values are static: CLI11 writes them while parsing, after this returns.
void AddCreateCommands(CLI::App& app, Globals& g) {
  static Attrs create_attrs;
  static std::string create_id, create_file, create_store;
  static std::vector<std::string> create_tags;
  static bool create_progress = false;
  auto* create = app.add_subcommand("image-create", "create an image (and upload its data with --file)");
  AddAttrs(create, create_attrs);
  create->add_option("--id", create_id, "image id to use");
  create->add_option("--tags", create_tags, "tags")->delimiter(',');
  create->add_option("--file", create_file, "upload this file as the image data");
  create->add_flag("--progress", create_progress, "show a progress bar");
  create->add_option("--store", create_store, "store to upload --file to (multi-store; see stores-info)");
  create->callback([&] {
    Api api(g);
    json body = AttrsJson(create_attrs);
    if (!create_id.empty()) body["id"] = create_id;
    if (!create_tags.empty()) body["tags"] = create_tags;
    json img = api.Call("POST", "/v2/images", &body);
    if (!create_file.empty()) {
      api.Upload(img["id"].get<std::string>(), create_file, create_progress, create_store);
      img = api.Call("GET", "/v2/images/" + img["id"].get<std::string>());
    }
    PrintImage(img);
  });

  static std::string up_id, up_file, up_store;
  static bool up_progress = false;
  auto* upload = app.add_subcommand("image-upload", "upload data for an image");
  upload->add_option("--file", up_file, "file to upload")->required();
  upload->add_flag("--progress", up_progress, "show a progress bar");
  upload->add_option("--store", up_store, "store to upload to (multi-store; see stores-info)");
  upload->add_option("id", up_id, "image id")->required();
  upload->callback([&] { Api(g).Upload(up_id, up_file, up_progress, up_store); });

  static std::string dl_id, dl_file;
  static bool dl_progress = false;
  auto* download = app.add_subcommand("image-download", "download an image's data");
  download->add_option("--file", dl_file, "write here (default: standard output)");
  download->add_flag("--progress", dl_progress, "show a progress bar");
  download->add_option("id", dl_id, "image id")->required();
  download->callback([&] { Api(g).Download(dl_id, dl_file, dl_progress); });
}

// Option values are static: CLI11 writes them while parsing, after this returns.
void AddListCommands(CLI::App& app, Globals& g) {
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
  show->callback([&] { PrintImage(Api(g).Call("GET", "/v2/images/" + show_id)); });
}

// Option values are static: CLI11 writes them while parsing, after this returns.
void AddUpdateCommands(CLI::App& app, Globals& g) {
  static Attrs upd_attrs;
  static std::string upd_id;
  static std::vector<std::string> remove_props;
  auto* update = app.add_subcommand("image-update", "change an image's metadata");
  AddAttrs(update, upd_attrs);
  update->add_option("--remove-property", remove_props, "custom property to remove (repeatable)");
  update->add_option("id", upd_id, "image id")->required();
  update->callback([&] {
    Api api(g);
    json current = api.Call("GET", "/v2/images/" + upd_id);
    json patch = json::array();
    json changes = AttrsJson(upd_attrs);
    for (auto& [k, v] : changes.items()) {
      std::string path = "/" + k;
      patch.push_back({{"op", current.contains(k) ? "replace" : "add"}, {"path", path}, {"value", v}});
    }
    for (const auto& k : remove_props) patch.push_back({{"op", "remove"}, {"path", "/" + k}});
    json img = patch.empty() ? current
                             : api.Call("PATCH", "/v2/images/" + upd_id, &patch,
                                        "application/openstack-images-v2.1-json-patch");
    PrintImage(img);
  });

  static std::vector<std::string> del_ids;
  auto* del = app.add_subcommand("image-delete", "delete images");
  del->add_option("ids", del_ids, "image ids")->required();
  del->callback([&] {
    Api api(g);
    for (const auto& id : del_ids) api.Call("DELETE", "/v2/images/" + id);
  });
}

// Option values are static: CLI11 writes them while parsing, after this returns.
void AddTagActionCommands(CLI::App& app, Globals& g) {
  static std::string tag_id, tag_value;
  auto* tag_update = app.add_subcommand("image-tag-update", "add a tag to an image");
  tag_update->add_option("id", tag_id, "image id")->required();
  tag_update->add_option("tag", tag_value, "tag")->required();
  tag_update->callback([&] { Api(g).Call("PUT", "/v2/images/" + tag_id + "/tags/" + PercentEncode(tag_value)); });
  auto* tag_delete = app.add_subcommand("image-tag-delete", "remove a tag from an image");
  tag_delete->add_option("id", tag_id, "image id")->required();
  tag_delete->add_option("tag", tag_value, "tag")->required();
  tag_delete->callback([&] { Api(g).Call("DELETE", "/v2/images/" + tag_id + "/tags/" + PercentEncode(tag_value)); });

  static std::string act_id;
  auto* deact = app.add_subcommand("image-deactivate", "deactivate an image");
  deact->add_option("id", act_id, "image id")->required();
  deact->callback([&] { Api(g).Call("POST", "/v2/images/" + act_id + "/actions/deactivate"); });
  auto* react = app.add_subcommand("image-reactivate", "reactivate an image");
  react->add_option("id", act_id, "image id")->required();
  react->callback([&] { Api(g).Call("POST", "/v2/images/" + act_id + "/actions/reactivate"); });
}

// Option values are static: CLI11 writes them while parsing, after this returns.
void AddMemberCommands(CLI::App& app, Globals& g) {
  // ---- members (shared images) ----
  static std::string mem_image, mem_member, mem_status;
  static const auto members_table = [](const json& members) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : members) rows.push_back({Cell(m["image_id"]), Cell(m["member_id"]), Cell(m["status"])});
    PrintTable({"Image ID", "Member ID", "Status"}, rows);
  };
  auto* mem_list = app.add_subcommand("member-list", "list the projects an image is shared with");
  mem_list->add_option("--image-id", mem_image, "image id")->required();
  mem_list->callback([&] { members_table(Api(g).Call("GET", "/v2/images/" + mem_image + "/members")["members"]); });
  auto* mem_create = app.add_subcommand("member-create", "share an image with a project");
  mem_create->add_option("image_id", mem_image, "image id")->required();
  mem_create->add_option("member_id", mem_member, "project id")->required();
  mem_create->callback([&] {
    json body = {{"member", mem_member}};
    members_table(json::array({Api(g).Call("POST", "/v2/images/" + mem_image + "/members", &body)}));
  });
  auto* mem_update = app.add_subcommand("member-update", "accept or reject an image shared with you");
  mem_update->add_option("image_id", mem_image, "image id")->required();
  mem_update->add_option("member_id", mem_member, "project id")->required();
  mem_update->add_option("member_status", mem_status, "accepted, rejected or pending")->required();
  mem_update->callback([&] {
    json body = {{"status", mem_status}};
    members_table(json::array(
        {Api(g).Call("PUT", "/v2/images/" + mem_image + "/members/" + PercentEncode(mem_member), &body)}));
  });
  auto* mem_delete = app.add_subcommand("member-delete", "stop sharing an image with a project");
  mem_delete->add_option("image_id", mem_image, "image id")->required();
  mem_delete->add_option("member_id", mem_member, "project id")->required();
  mem_delete->callback([&] { Api(g).Call("DELETE", "/v2/images/" + mem_image + "/members/" + PercentEncode(mem_member)); });
}

// Option values are static: CLI11 writes them while parsing, after this returns.
void AddStoreCommands(CLI::App& app, Globals& g) {
  // ---- stores (multi-store) ----
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

// Option values are static: CLI11 writes them while parsing, after this returns.
void AddLocationCommands(CLI::App& app, Globals& g) {
  // ---- locations (show_multiple_locations) ----
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
    PrintImage(Api(g).Call("PATCH", "/v2/images/" + loc_id, &patch, "application/openstack-images-v2.1-json-patch"));
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"glint: command-line client for the Glint (Glance v2) image service"};
  app.require_subcommand(1);
  Globals g;
  g.url = Env("OS_IMAGE_URL");
  g.token = Env("OS_AUTH_TOKEN");
  app.add_option("--os-image-url", g.url, "image service URL (env OS_IMAGE_URL)");
  auto* token = app.add_option("--os-auth-token", g.token, "token (prefer env OS_AUTH_TOKEN: argv is visible to all)");
  for (auto add : {AddCreateCommands, AddListCommands, AddUpdateCommands, AddTagActionCommands, AddMemberCommands,
                   AddStoreCommands, AddLocationCommands}) {
    add(app, g);
  }
  app.parse_complete_callback([token] {
    if (token->count() > 0) {
      std::fprintf(stderr, "glint: warning: --os-auth-token puts a secret on the command line, where every local "
                           "user can read it (ps); use $OS_AUTH_TOKEN\n");
    }
  });
  CLI11_PARSE(app, argc, argv);
  return 0;
}
