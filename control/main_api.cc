// glint-api: the control plane. Wires config, catalog, store, authentication and the
// HTTP server together; all behaviour lives in the libraries.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>

#include "auth/authenticator.h"
#include "auth/identity.h"
#include "auth/policy.h"
#include "control/identity_api.h"
#include "auth/keystone_authenticator.h"
#include "catalog/catalog.h"
#include "control/api_service.h"
#include "control/config.h"
#include "control/http_server.h"
#include "store/backend.h"
#include "store/store_set.h"

using namespace glint;

int main(int argc, char** argv) {
  // Keep freed heap in the process: returning it (madvise) on every large free costs TLB
  // shootdowns on the request path; RSS stays bounded by the working set.
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  CLI::App app{"glint-api: the Glint image service (Glance Image API v2)"};
  std::string config_file, port_file;
  std::optional<std::string> bind_host, data_dir, admin_token, connection, store_dir;
  std::optional<int> bind_port, workers;
  bool debug = false;
  app.add_option("--config-file", config_file, "Glance-style INI configuration file");
  app.add_option("--bind-host", bind_host, "address to listen on ([DEFAULT] bind_host)");
  app.add_option("--bind-port", bind_port, "port to listen on, 0 = any ([DEFAULT] bind_port)");
  app.add_option("--data-dir", data_dir, "home of the default catalog, store and admin token");
  app.add_option("--admin-token", admin_token, "bootstrap admin token ([DEFAULT] admin_token)");
  app.add_option("--connection", connection, "catalog URL ([database] connection)");
  app.add_option("--filesystem-store-datadir", store_dir, "file store directory");
  app.add_option("--workers", workers, "network threads ([DEFAULT] workers)");
  app.add_option("--port-file", port_file, "write the bound port to this file once listening");
  app.add_flag("--debug", debug, "verbose logging");
  CLI11_PARSE(app, argc, argv);

  control::Config config;
  if (!config_file.empty()) {
    Status s = control::LoadConfigFile(config_file, &config);
    if (!s.ok()) {
      std::fprintf(stderr, "glint-api: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (bind_host) config.bind_host = *bind_host;
  if (bind_port) config.bind_port = *bind_port;
  if (data_dir) config.data_dir = *data_dir;
  if (admin_token) config.admin_token = *admin_token;
  if (connection) config.connection = *connection;
  if (store_dir) config.filesystem_store_datadir = *store_dir;
  if (workers) config.workers = *workers;
  if (debug) config.debug = true;
  control::FinalizeConfig(&config);

  if (!config.log_file.empty()) {
    spdlog::set_default_logger(spdlog::basic_logger_mt("glint-api", config.log_file));
  }
  spdlog::set_level(config.debug ? spdlog::level::debug : spdlog::level::info);
  spdlog::flush_on(spdlog::level::info);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data dir {}: {}", config.data_dir, ec.message());
    return 1;
  }
  Status s;
  auto catalog = catalog::OpenCatalog(config.connection, &s);
  if (!catalog) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  // The stores: several with enabled_backends (multi-store), else default_store alone.
  std::vector<control::BackendConfig> wanted = config.backends;
  bool multi = !wanted.empty();
  if (!multi) {
    if (std::find(config.stores.begin(), config.stores.end(), config.default_store) == config.stores.end()) {
      spdlog::critical("[glance_store] default_store {} is not in stores", config.default_store);
      return 1;
    }
    control::BackendConfig b;
    b.id = b.type = config.default_store;
    b.filesystem_store_datadir = config.filesystem_store_datadir;
    b.rbd_store_pool = config.rbd_store_pool;
    b.rbd_store_user = config.rbd_store_user;
    b.rbd_store_ceph_conf = config.rbd_store_ceph_conf;
    b.rbd_store_chunk_size = config.rbd_store_chunk_size;
    b.rbd_thin_provisioning = config.rbd_thin_provisioning;
    wanted.push_back(b);
  }
  store::StoreSet stores(multi);
  for (const auto& b : wanted) {
    Result<std::unique_ptr<store::Backend>> backend =
        Status::InvalidArgument("backend " + b.id + ": unknown type '" + b.type + "': use file or rbd");
    if (b.type == "file") {
      std::string dir = b.filesystem_store_datadir.empty() ? config.data_dir + "/store-" + b.id
                                                          : b.filesystem_store_datadir;
      backend = store::NewFileBackend(b.id, dir);
    } else if (b.type == "rbd") {
      store::RbdOptions rbd;
      rbd.pool = b.rbd_store_pool;
      rbd.user = b.rbd_store_user;
      rbd.ceph_conf = b.rbd_store_ceph_conf;
      rbd.chunk_size_mib = b.rbd_store_chunk_size;
      rbd.thin_provisioning = b.rbd_thin_provisioning;
      rbd.op_timeout_seconds = config.rados_op_timeout;
      backend = store::NewRbdBackend(b.id, rbd);
    }
    if (!backend.ok()) {
      spdlog::critical("store {}: {}", b.id, backend.status().ToString());
      return 1;
    }
    bool is_default = multi ? b.id == config.default_backend : true;
    stores.Add(b.id, b.type, std::move(backend).value(), is_default);
  }
  if (multi && !stores.Find(config.default_backend)) {
    spdlog::critical("[glance_store] default_backend '{}' is not in enabled_backends", config.default_backend);
    return 1;
  }
  std::string token = config.admin_token;
  if (token.empty()) {
    auto t = auth::LoadOrCreateAdminToken(config.AdminTokenFile());
    if (!t.ok()) {
      spdlog::critical("{}", t.status().ToString());
      return 1;
    }
    token = *t;
  }
  auto identity = auth::OpenIdentityStore(config.connection, &s);
  if (!identity) {
    spdlog::critical("identity: {}", s.ToString());
    return 1;
  }
  auth::TokenService tokens(*identity, config.token_expiration);
  std::unique_ptr<auth::Authenticator> authenticator;
  bool external_keystone = config.paste_flavor.find("keystone") != std::string::npos;
  if (external_keystone) {
    auth::KeystoneOptions ks;
    ks.auth_url = config.ks_auth_url;
    ks.www_authenticate_uri = config.ks_www_authenticate_uri;
    ks.username = config.ks_username;
    ks.password = config.ks_password;
    ks.project_name = config.ks_project_name;
    ks.user_domain_name = config.ks_user_domain_name;
    ks.project_domain_name = config.ks_project_domain_name;
    ks.token_cache_time = config.ks_token_cache_time;
    ks.service_token_roles = config.ks_service_token_roles;
    ks.service_token_roles_required = config.ks_service_token_roles_required;
    ks.http.ca_file = config.ks_cafile;
    ks.http.verify_tls = !config.ks_insecure;
    ks.http.connect_timeout_ms = config.ks_http_connect_timeout * 1000;
    ks.admin_token = token;
    if (ks.auth_url.empty()) {
      spdlog::critical("[paste_deploy] flavor = keystone needs [keystone_authtoken] auth_url");
      return 1;
    }
    authenticator = auth::NewKeystoneAuthenticator(ks);
    spdlog::info("validating tokens against Keystone at {}", ks.auth_url);
  } else {
    authenticator = auth::NewIdentityAuthenticator(*identity, tokens, token);
  }
  control::IdentityApi identity_api(*identity, tokens, *authenticator);

  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  control::WorkerPool pool(std::max(8, 2 * cores + 2));
  auth::PolicyEngine policy(config.enforce_secure_rbac, config.policy_file);
  if (!policy.load_status().ok()) spdlog::error("policy: {}", policy.load_status().ToString());
  control::ApiService api(config, *catalog, stores, *authenticator, pool.Poster(),
                          external_keystone ? nullptr : &identity_api, &policy);
  control::HttpServer server(api, config, pool);
  s = server.Listen(config.bind_host, config.bind_port);
  if (!s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  // The default node id is host:port; with an ephemeral port (0) that is only known now,
  // and two nodes on one host must not share an id (each releases "its own" uploads at
  // startup). Connections wait in the backlog until recovery is done.
  const std::string ephemeral = ":0";
  if (config.bind_port == 0 && config.node_id.size() > ephemeral.size() &&
      config.node_id.compare(config.node_id.size() - ephemeral.size(), ephemeral.size(), ephemeral) == 0) {
    config.node_id.resize(config.node_id.size() - 1);
    config.node_id += std::to_string(server.port());
  }
  s = api.RecoverUploads(/*at_startup=*/true);
  if (!s.ok()) {
    spdlog::critical("startup recovery failed: {}", s.ToString());
    return 1;
  }
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << server.port() << "\n";
    std::filesystem::rename(tmp, port_file, ec);
  }
  spdlog::info("glint-api listening on {}:{} (catalog {}, {} store, node {})", config.bind_host,
               server.port(), config.connection, config.default_store, config.node_id);

  // Periodic recovery of uploads whose node died (their locks expire).
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  // The store sweep runs beside serving: once now (what a crash left), then periodically
  // with the release of expired locks (uploads whose node died).
  std::thread janitor([&] {
    // Debris that could not be removed yet (a dead client's RBD watch lasts ~30 s) gets
    // another sweep soon rather than at the next regular round.
    const auto regular = std::chrono::seconds(std::max(5, config.upload_lock_ttl / 2));
    auto sweep = [&] {
      auto r = api.SweepStore();
      if (!r.ok()) spdlog::warn("store sweep: {}", r.status().ToString());
      return r.ok() && *r > 0 ? std::min<std::chrono::seconds>(regular, std::chrono::seconds(10)) : regular;
    };
    auto wait = sweep();
    std::unique_lock<std::mutex> l(mu);
    while (!cv.wait_for(l, wait, [&] { return done; })) {
      l.unlock();
      Status r = api.RecoverUploads(/*at_startup=*/false);
      if (!r.ok()) spdlog::warn("periodic recovery: {}", r.ToString());
      wait = sweep();
      l.lock();
    }
  });
  server.Run(config.workers > 0 ? config.workers : cores);
  {
    std::lock_guard<std::mutex> l(mu);
    done = true;
  }
  cv.notify_all();
  janitor.join();
  pool.Join();
  spdlog::info("glint-api stopped");
  return 0;
}
