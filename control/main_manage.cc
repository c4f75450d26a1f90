// glint-manage: administration of a Glint cloud's built-in identity, working directly on
// the catalog database like keystone-manage: bootstrap the first admin, create projects,
// users and role assignments, rotate token keys.
#include <CLI/CLI.hpp>
#include <iostream>
#include <set>

#include "auth/identity.h"
#include "catalog/catalog.h"
#include "catalog/glance_import.h"
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

// Adopts a Glance catalog (SQLite or MySQL/MariaDB) into Glint's: see glance_import.h.
int ImportGlance(const control::Config& config, const std::string& glance) {
  auto source = catalog::OpenGlanceSource(glance);
  if (!source.ok()) Die(source.status().ToString());
  Status s;
  auto cat = catalog::OpenCatalog(config.connection, &s);
  if (!cat) Die(s.ToString());
  auto counts = Must(catalog::ImportGlanceCatalog(**source, *cat));
  std::cout << "imported " << counts.imported << " images, reserved " << counts.deleted_ids
            << " deleted ids, skipped " << counts.skipped << " already present\n";
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
  imp->add_option("--glance-connection", glance_db, "Glance's [database] connection: sqlite:////path or mysql+pymysql://user:pw@host/glance")->required();
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
