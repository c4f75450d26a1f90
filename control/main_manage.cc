// glint-manage: administration of a Glint cloud's built-in identity, working directly on
// the catalog database like keystone-manage: bootstrap the first admin, create projects,
// users and role assignments, rotate token keys.
#include <CLI/CLI.hpp>
#include <iostream>
#include <set>

#include "auth/identity.h"
#include "catalog/catalog.h"
#include "catalog/sqlite_db.h"
#include <nlohmann/json.hpp>
#include "common/digest.h"
#include "common/ids.h"
#include "control/config.h"

#include <openssl/rand.h>

using namespace glint;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "glint-manage: " << msg << "\n";
  std::exit(1);
}

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) Die(r.status().message());
  return std::move(r).value();
}

// Reads a Glance catalog (the schema `glance-manage db_sync` creates) and adds every image
// to Glint's catalog as it is: same ids, states, timestamps, data facts, properties, tags,
// members and locations, so the data stays where Glance put it. Deleted images keep their
// ids reserved. Images already present are skipped, so the import can be re-run.
int ImportGlance(const control::Config& config, const std::string& glance) {
  const std::string prefix = "sqlite:///";
  if (glance.rfind(prefix, 0) != 0) {
    Die("only Glance catalogs on SQLite (sqlite:////path) can be imported by this build");
  }
  auto db = catalog::Db::Open(glance.substr(prefix.size()));
  if (!db.ok()) Die(db.status().ToString());
  Status s;
  auto cat = catalog::OpenCatalog(config.connection, &s);
  if (!cat) Die(s.ToString());
  auto time_of = [](const std::optional<std::string>& t) -> int64_t {
    return t ? ParseIso(*t).value_or(0) : 0;
  };
  auto rows = [&](const std::string& sql, const std::string& id, auto&& each) {
    auto st = Must((*db)->Prepare(sql));
    st.Bind(1, id);
    for (;;) {
      auto row = st.Step();
      if (!row.ok()) Die(row.status().ToString());
      if (!*row) break;
      each(st);
    }
  };
  auto images = Must((*db)->Prepare(
      "SELECT id, name, size, status, created_at, updated_at, deleted, disk_format, container_format, "
      "checksum, owner, min_disk, min_ram, protected, virtual_size, visibility, os_hidden, os_hash_algo, "
      "os_hash_value FROM images ORDER BY created_at"));
  int imported = 0, skipped = 0, deleted_ids = 0;
  for (;;) {
    auto row = images.Step();
    if (!row.ok()) Die(row.status().ToString());
    if (!*row) break;
    catalog::ImageRecord r;
    r.id = images.Text(0);
    r.name = images.OptText(1);
    r.size = images.OptInt(2);
    std::string status = images.Text(3);
    r.created_at = time_of(images.OptText(4));
    r.updated_at = images.IsNull(5) ? r.created_at : time_of(images.OptText(5));
    bool deleted = images.Int(6) != 0 || status == "deleted" || status == "pending_delete";
    r.disk_format = images.OptText(7);
    r.container_format = images.OptText(8);
    r.checksum = images.OptText(9);
    r.owner = images.OptText(10);
    r.min_disk = images.Int(11);
    r.min_ram = images.Int(12);
    r.is_protected = images.Int(13) != 0;
    r.virtual_size = images.OptInt(14);
    r.visibility = images.Text(15);
    r.os_hidden = images.Int(16) != 0;
    r.os_hash_algo = images.OptText(17);
    r.os_hash_value = images.OptText(18);
    // Glint never keeps an image half-uploaded: those go back to queued, without data facts.
    if (status == "active" || status == "deactivated" || status == "queued") {
      r.status = status;
    } else {
      r.status = catalog::kQueued;
    }
    if (r.status == catalog::kQueued) {
      r.size.reset();
      r.checksum.reset();
      r.os_hash_algo.reset();
      r.os_hash_value.reset();
      r.virtual_size.reset();
    } else {
      r.activated_at = r.updated_at;
    }
    std::vector<catalog::ImageMember> members;
    if (!deleted) {
      rows("SELECT name, value FROM image_properties WHERE image_id = ? AND deleted = 0", r.id,
           [&](const catalog::Stmt& st) {
             if (st.Text(0) != "stores") r.properties[st.Text(0)] = st.Text(1);  // Glint derives `stores`
           });
      rows("SELECT DISTINCT value FROM image_tags WHERE image_id = ? AND deleted = 0 ORDER BY value", r.id,
           [&](const catalog::Stmt& st) { r.tags.push_back(st.Text(0)); });
      rows("SELECT value, meta_data FROM image_locations WHERE image_id = ? AND deleted = 0 "
           "AND status = 'active' ORDER BY id", r.id, [&](const catalog::Stmt& st) {
             catalog::ImageLocation loc;
             loc.url = st.Text(0);
             loc.metadata_json = st.IsNull(1) ? "{}" : st.Text(1);
             auto meta = nlohmann::json::parse(loc.metadata_json, nullptr, false);
             if (meta.is_object() && meta.contains("store") && meta["store"].is_string()) {
               loc.store = meta["store"].get<std::string>();
             } else {
               loc.store = loc.url.substr(0, loc.url.find("://"));  // single-store: the type
             }
             r.locations.push_back(loc);
           });
      rows("SELECT member, status, created_at, updated_at FROM image_members WHERE image_id = ? "
           "AND deleted = 0", r.id, [&](const catalog::Stmt& st) {
             members.push_back({r.id, st.Text(0), st.Text(1), time_of(st.OptText(2)),
                                st.IsNull(3) ? time_of(st.OptText(2)) : time_of(st.OptText(3))});
           });
      if (r.status != catalog::kQueued && r.locations.empty()) r.status = catalog::kQueued;
    }
    Status imp = cat->ImportImage(r, deleted, members);
    if (imp.code() == Status::Code::kConflict) {
      ++skipped;
      continue;
    }
    if (!imp.ok()) Die("image " + r.id + ": " + imp.ToString());
    deleted ? ++deleted_ids : ++imported;
  }
  std::cout << "imported " << imported << " images, reserved " << deleted_ids << " deleted ids, skipped "
            << skipped << " already present\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"glint-manage: built-in identity administration"};
  app.require_subcommand(1);
  std::string config_file, data_dir;
  app.add_option("--config-file", config_file, "glint-api's configuration file");
  app.add_option("--data-dir", data_dir, "data dir (when there is no config file)");

  std::string admin_user = "admin", admin_password, admin_project = "admin";
  auto* boot = app.add_subcommand("bootstrap", "create the admin project, user and roles (idempotent)");
  boot->add_option("--bootstrap-username", admin_user, "admin user name");
  boot->add_option("--bootstrap-password", admin_password, "admin password")->required();
  boot->add_option("--bootstrap-project-name", admin_project, "admin project name");

  std::string name, password, project, role = "member", user;
  auto* pc = app.add_subcommand("project-create", "create a project");
  pc->add_option("name", name)->required();
  auto* uc = app.add_subcommand("user-create", "create a user (and give it a role on --project)");
  uc->add_option("name", name)->required();
  uc->add_option("--password", password)->required();
  uc->add_option("--project", project, "default project (name)");
  uc->add_option("--role", role, "role on --project");
  auto* ra = app.add_subcommand("role-add", "give a user a role on a project");
  ra->add_option("--user", user)->required();
  ra->add_option("--project", project)->required();
  ra->add_option("--role", role)->required();
  auto* rot = app.add_subcommand("token-rotate", "add a new token key; prune keys older than 2 token lifetimes");
  std::string resource;
  int64_t value = -1;
  auto* ls = app.add_subcommand("limit-set", "set a quota (unified limits; sizes in MiB; -1 = unlimited)");
  ls->add_option("--resource", resource, "image_size_total, image_count_total, image_count_uploading, image_stage_total")
      ->required();
  ls->add_option("--value", value)->required();
  ls->add_option("--project", project, "project name; omit for the default of every project");
  std::string glance_db;
  auto* imp = app.add_subcommand("import-glance",
                                 "adopt a Glance catalog: images, properties, tags, members, locations");
  imp->add_option("--glance-connection", glance_db, "Glance's [database] connection (sqlite:////path)")->required();
  auto* pl = app.add_subcommand("project-list", "list projects");
  auto* ul = app.add_subcommand("user-list", "list users");
  CLI11_PARSE(app, argc, argv);

  control::Config config;
  if (!config_file.empty()) {
    Status s = control::LoadConfigFile(config_file, &config);
    if (!s.ok()) Die(s.message());
  }
  if (!data_dir.empty()) config.data_dir = data_dir;
  control::FinalizeConfig(&config);
  Status s;
  auto store = auth::OpenIdentityStore(config.connection, &s);
  if (!store) Die(s.ToString());

  if (*boot) {
    for (const char* r : {"admin", "member", "reader"}) Must(store->EnsureRole(r));
    auto p = store->FindProject(admin_project);
    auth::Project proj = p.ok() ? *p : Must(store->CreateProject(admin_project));
    auto u = store->FindUser(admin_user);
    auth::User usr = u.ok() ? *u : Must(store->CreateUser(admin_user, admin_password, proj.id));
    for (const char* r : {"admin", "member", "reader"}) {
      Status a = store->AssignRole(usr.id, proj.id, r);
      if (!a.ok()) Die(a.message());
    }
    std::cout << "admin user " << usr.name << " (" << usr.id << ") in project " << proj.name << " ("
              << proj.id << ")\n";
  } else if (*pc) {
    auto p = Must(store->CreateProject(name));
    std::cout << p.id << "\n";
  } else if (*uc) {
    std::optional<std::string> pid;
    if (!project.empty()) pid = Must(store->FindProject(project)).id;
    auto u = Must(store->CreateUser(name, password, pid));
    if (pid) {
      Status a = store->AssignRole(u.id, *pid, role);
      if (!a.ok()) Die(a.message());
    }
    std::cout << u.id << "\n";
  } else if (*ra) {
    auto u = Must(store->FindUser(user));
    auto p = Must(store->FindProject(project));
    Status a = store->AssignRole(u.id, p.id, role);
    if (!a.ok()) Die(a.message());
  } else if (*rot) {
    unsigned char raw[32];
    RAND_bytes(raw, sizeof raw);
    Status a = store->AddTokenKey(HexEncode(raw, sizeof raw), NowMicros());
    if (!a.ok()) Die(a.message());
    a = store->PruneTokenKeys(NowMicros() - int64_t{2} * config.token_expiration * 1000000, 2);
    if (!a.ok()) Die(a.message());
    std::cout << "token key rotated\n";
  } else if (*ls) {
    static const std::set<std::string> kResources = {"image_size_total", "image_count_total",
                                                     "image_count_uploading", "image_stage_total"};
    if (!kResources.count(resource)) Die("unknown resource " + resource);
    std::string pid = project.empty() ? "" : Must(store->FindProject(project)).id;
    Status a = store->SetLimit(pid, resource, value);
    if (!a.ok()) Die(a.message());
  } else if (*imp) {
    return ImportGlance(config, glance_db);
  } else if (*pl) {
    for (const auto& p : Must(store->ListProjects())) std::cout << p.id << " " << p.name << "\n";
  } else if (*ul) {
    for (const auto& u : Must(store->ListUsers())) std::cout << u.id << " " << u.name << "\n";
  }
  return 0;
}
