// glint-manage: administration of a Glint cloud's built-in identity, working directly on
// the catalog database like keystone-manage: bootstrap the first admin, create projects,
// users and role assignments, rotate token keys.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>

#include "auth/identity.h"
#include "catalog/catalog.h"
#include "catalog/glance_import.h"
#include "common/digest.h"
#include "common/ids.h"
#include "control/config.h"
#include "control/metadef_files.h"
#include "control/manifest_backfill.h"
#include "control/server_setup.h"

#include <openssl/rand.h>

using namespace glint;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "glint-manage: " << msg << "\n";
  std::exit(1);
}

void Check(const Status& s) {
  if (!s.ok()) Die(s.message());
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

// A secret from a file, else an environment variable, else the command line (warned:
// argv is visible to every local user).
std::string Secret(const std::string& file, const char* env, const std::string& argv_value, const char* what) {
  if (!file.empty()) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line) || line.empty()) Die("cannot read " + std::string(what) + " from " + file);
    return line;
  }
  if (const char* v = std::getenv(env); v && *v) return v;
  if (!argv_value.empty()) {
    std::cerr << "glint-manage: warning: a " << what << " on the command line is visible to every local user (ps); "
              << "use a file or $" << env << "\n";
    return argv_value;
  }
  Die("no " + std::string(what) + ": give a file, $" + env + ", or the option");
}

// `manifest-backfill`: one image (--image), or every image without a manifest.
int BackfillManifests(const control::Config& config, const std::string& image_id) {
  Status s;
  auto cat = catalog::OpenCatalog(config.connection, &s);
  if (!cat) Die(s.ToString());
  auto stores = Must(control::OpenStores(config));
  control::ManifestBackfill backfill(*cat, *stores);
  if (!image_id.empty()) {
    Check(backfill.Backfill(Must(cat->GetImage(image_id))));
    std::cout << "image " << image_id << ": chunk manifest stored\n";
    return 0;
  }
  int total = 0, done = 0;
  do {
    Check(backfill.RunPass(100, &done));
    total += done;
  } while (done > 0);
  int64_t left = static_cast<int64_t>(Must(cat->ImagesWithoutManifest(1000)).size());
  std::cout << total << " image(s) got a chunk manifest; " << left << " still without one\n";
  return left > 0 ? 1 : 0;
}

struct Args {
  std::string admin_user = "admin", admin_password, admin_password_file, admin_project = "admin";
  std::string name, password, password_file, project, role = "member", user, resource, glance_db, image;
  int64_t value = -1;
};

void Bootstrap(auth::IdentityStore& store, const Args& a) {
  std::string password = Secret(a.admin_password_file, "OS_BOOTSTRAP_PASSWORD", a.admin_password, "password");
  for (const char* r : {"admin", "member", "reader"}) Must(store.EnsureRole(r));
  auto p = store.FindProject(a.admin_project);
  auth::Project proj = p.ok() ? *p : Must(store.CreateProject(a.admin_project));
  auto u = store.FindUser(a.admin_user);
  auth::User usr = u.ok() ? *u : Must(store.CreateUser(a.admin_user, password, proj.id));
  for (const char* r : {"admin", "member", "reader"}) Check(store.AssignRole(usr.id, proj.id, r));
  std::cout << "admin user " << usr.name << " (" << usr.id << ") in project " << proj.name << " (" << proj.id << ")\n";
}

void CreateUser(auth::IdentityStore& store, const Args& a) {
  std::string password = Secret(a.password_file, "GLINT_USER_PASSWORD", a.password, "password");
  std::optional<std::string> pid;
  if (!a.project.empty()) pid = Must(store.FindProject(a.project)).id;
  auto u = Must(store.CreateUser(a.name, password, pid));
  if (pid) Check(store.AssignRole(u.id, *pid, a.role));
  std::cout << u.id << "\n";
}

void RotateTokenKeys(auth::IdentityStore& store, const control::Config& config) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) Die("no randomness for a token key");
  Check(store.AddTokenKey(HexEncode(raw, sizeof raw), NowMicros()));
  Check(store.PruneTokenKeys(NowMicros() - int64_t{2} * config.token_expiration * 1000000, 2));
  std::cout << "token key rotated\n";
}

void SetLimit(auth::IdentityStore& store, const Args& a) {
  static const std::set<std::string> kResources = {"image_size_total", "image_count_total", "image_count_uploading",
                                                   "image_stage_total"};
  if (!kResources.count(a.resource)) Die("unknown resource " + a.resource);
  std::string pid = a.project.empty() ? "" : Must(store.FindProject(a.project)).id;
  Check(store.SetLimit(pid, a.resource, a.value));
}

using Command = std::function<int(auth::IdentityStore&, const control::Config&)>;

// Each subcommand: its options, and what it does.
std::vector<std::pair<CLI::App*, Command>> AddCommands(CLI::App& app, Args& a) {
  std::vector<std::pair<CLI::App*, Command>> out;
  auto add = [&](CLI::App* sub, Command run) { out.emplace_back(sub, std::move(run)); };
  auto* boot = app.add_subcommand("bootstrap", "create the admin project, user and roles (idempotent)");
  boot->add_option("--bootstrap-username", a.admin_user, "admin user name");
  boot->add_option("--bootstrap-password-file", a.admin_password_file, "file holding the admin password");
  boot->add_option("--bootstrap-password", a.admin_password, "admin password (prefer the file or $OS_BOOTSTRAP_PASSWORD)");
  boot->add_option("--bootstrap-project-name", a.admin_project, "admin project name");
  add(boot, [&a](auth::IdentityStore& s, const control::Config&) { return Bootstrap(s, a), 0; });
  auto* pc = app.add_subcommand("project-create", "create a project");
  pc->add_option("name", a.name)->required();
  add(pc, [&a](auth::IdentityStore& s, const control::Config&) {
    std::cout << Must(s.CreateProject(a.name)).id << "\n";
    return 0;
  });
  auto* uc = app.add_subcommand("user-create", "create a user (and give it a role on --project)");
  uc->add_option("name", a.name)->required();
  uc->add_option("--password-file", a.password_file, "file holding the password");
  uc->add_option("--password", a.password, "password (prefer --password-file or $GLINT_USER_PASSWORD)");
  uc->add_option("--project", a.project, "default project (name)");
  uc->add_option("--role", a.role, "role on --project");
  add(uc, [&a](auth::IdentityStore& s, const control::Config&) { return CreateUser(s, a), 0; });
  auto* ra = app.add_subcommand("role-add", "give a user a role on a project");
  ra->add_option("--user", a.user)->required();
  ra->add_option("--project", a.project)->required();
  ra->add_option("--role", a.role)->required();
  add(ra, [&a](auth::IdentityStore& s, const control::Config&) {
    Check(s.AssignRole(Must(s.FindUser(a.user)).id, Must(s.FindProject(a.project)).id, a.role));
    return 0;
  });
  add(app.add_subcommand("token-rotate", "add a new token key; prune keys older than 2 token lifetimes"),
      [](auth::IdentityStore& s, const control::Config& c) { return RotateTokenKeys(s, c), 0; });
  auto* ls = app.add_subcommand("limit-set", "set a quota (unified limits; sizes in MiB; -1 = unlimited)");
  ls->add_option("--resource", a.resource, "image_size_total, image_count_total, image_count_uploading, image_stage_total")
      ->required();
  ls->add_option("--value", a.value)->required();
  ls->add_option("--project", a.project, "project name; omit for the default of every project");
  add(ls, [&a](auth::IdentityStore& s, const control::Config&) { return SetLimit(s, a), 0; });
  auto* imp = app.add_subcommand("import-glance", "adopt a Glance catalog: images, properties, tags, members, locations");
  imp->add_option("--glance-connection", a.glance_db,
                  "Glance's [database] connection: sqlite:////path or mysql+pymysql://user:pw@host/glance")
      ->required();
  add(imp, [&a](auth::IdentityStore&, const control::Config& c) { return ImportGlance(c, a.glance_db); });
  add(app.add_subcommand("project-list", "list projects"), [](auth::IdentityStore& s, const control::Config&) {
    for (const auto& p : Must(s.ListProjects())) std::cout << p.id << " " << p.name << "\n";
    return 0;
  });
  add(app.add_subcommand("user-list", "list users"), [](auth::IdentityStore& s, const control::Config&) {
    for (const auto& u : Must(s.ListUsers())) std::cout << u.id << " " << u.name << "\n";
    return 0;
  });
  auto* mb = app.add_subcommand("manifest-backfill",
                                "compute chunk manifests for images that have none (reads each image's data once)");
  mb->add_option("--image", a.image, "only this image id");
  add(mb, [&a](auth::IdentityStore&, const control::Config& c) { return BackfillManifests(c, a.image); });
  return out;
}

}  // namespace

// `db-sync` (as `glance-manage db_sync`): creates or upgrades the catalog and identity
// schemas; `db-version`: prints where the database is.
int DbSync(const control::Config& config) {
  int64_t catalog = Must(catalog::SyncCatalogSchema(config.connection));
  int64_t identity = Must(auth::SyncIdentitySchema(config.connection));
  std::cout << "catalog schema at version " << catalog << ", identity schema at version " << identity << "\n";
  return 0;
}

int DbVersion(const control::Config& config) {
  int64_t catalog = Must(catalog::CatalogSchemaVersion(config.connection));
  int64_t identity = Must(auth::IdentitySchemaVersion(config.connection));
  std::cout << "catalog " << catalog << " (this Glint: " << catalog::LatestCatalogSchemaVersion() << ")\n"
            << "identity " << identity << " (this Glint: " << auth::LatestIdentitySchemaVersion() << ")\n";
  return 0;
}

// `db-load-metadefs [DIR]`, `db-unload-metadefs`, `db-export-metadefs [DIR]` (as
// glance-manage's): Glance's metadata definition files in and out of the catalog.
int Metadefs(const control::Config& config, const std::string& which, const std::string& dir, bool overwrite) {
  Status s;
  auto catalog = catalog::OpenCatalog(config.connection, &s);
  if (!catalog) Die(s.ToString());
  const std::string path = dir.empty() ? control::kDefaultMetadefsDir : dir;
  if (which == "load") {
    auto r = Must(control::LoadMetadefFiles(*catalog, path, overwrite, NowMicros()));
    std::cout << "loaded " << r.loaded << " namespaces from " << path << ", skipped " << r.skipped
              << " already present\n";
  } else if (which == "unload") {
    std::cout << "deleted " << Must(control::UnloadMetadefs(*catalog)) << " namespaces\n";
  } else {
    std::cout << "exported " << Must(control::ExportMetadefFiles(*catalog, path)) << " namespaces to " << path
              << "\n";
  }
  return 0;
}

int main(int argc, char** argv) {
  ::umask(077);  // the catalog and its token keys are private
  CLI::App app{"glint-manage: built-in identity administration"};
  app.require_subcommand(1);
  std::string config_file, data_dir;
  app.add_option("--config-file", config_file, "glint-api's configuration file");
  app.add_option("--data-dir", data_dir, "data dir (when there is no config file)");
  Args args;
  auto commands = AddCommands(app, args);
  auto* sync = app.add_subcommand("db-sync", "create or upgrade the database schema (as glance-manage db_sync)");
  auto* version = app.add_subcommand("db-version", "print the database schema version");
  std::string md_dir;
  bool md_overwrite = false;
  auto* md_load = app.add_subcommand("db-load-metadefs", "load Glance's metadata definition files");
  md_load->add_option("dir", md_dir, std::string("directory of *.json files (default ") +
                                         control::kDefaultMetadefsDir + ")");
  md_load->add_flag("--overwrite", md_overwrite, "replace namespaces that exist");
  auto* md_unload = app.add_subcommand("db-unload-metadefs", "delete every metadata definition");
  auto* md_export = app.add_subcommand("db-export-metadefs", "write the metadata definitions as files");
  md_export->add_option("dir", md_dir, "directory to write into");
  CLI11_PARSE(app, argc, argv);
  control::Config config;
  if (!config_file.empty()) Check(control::LoadConfigFile(config_file, &config));
  if (!data_dir.empty()) config.data_dir = data_dir;
  control::FinalizeConfig(&config);
  Check(control::ResolveDatabasePassword(&config));
  if (*sync) return DbSync(config);
  if (*version) return DbVersion(config);
  if (*md_load || *md_unload || *md_export) {
    return Metadefs(config, *md_load ? "load" : *md_unload ? "unload" : "export", md_dir, md_overwrite);
  }
  Status s;
  auto store = auth::OpenIdentityStore(config.connection, &s);
  if (!store) Die(s.ToString());
  for (auto& [sub, run] : commands) {
    if (*sub) return run(*store, config);
  }
  return 0;
}
