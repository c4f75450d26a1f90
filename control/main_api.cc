// glint-api: the control plane. Wires config, catalog, store, authentication and the
// HTTP server together; all behaviour lives in the libraries.
#include <malloc.h>
#include <csignal>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>

#include "auth/identity.h"
#include "auth/policy.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/random.h"
#include "cache/image_cache.h"
#include "control/api_service.h"
#include "control/config.h"
#include "control/http_server.h"
#include "control/identity_api.h"
#include "control/server_setup.h"
#include "notify/notifier.h"

using namespace glint;

namespace {

struct Flags {
  std::string config_file, port_file, admin_token_file;
  std::optional<std::string> bind_host, data_dir, admin_token, connection, store_dir;
  std::optional<int> bind_port, workers;
  bool debug = false, bootstrap_admin_token = false;
};

void AddFlags(CLI::App& app, Flags& f) {
  app.add_option("--config-file", f.config_file, "Glance-style INI configuration file");
  app.add_option("--bind-host", f.bind_host, "address to listen on ([DEFAULT] bind_host)");
  app.add_option("--bind-port", f.bind_port, "port to listen on, 0 = any ([DEFAULT] bind_port)");
  app.add_option("--data-dir", f.data_dir, "home of the default catalog, store and admin token");
  app.add_flag("--bootstrap-admin-token", f.bootstrap_admin_token,
               "accept the bootstrap admin token ([DEFAULT] bootstrap_admin_token)");
  app.add_option("--admin-token-file", f.admin_token_file, "read the bootstrap admin token from this file");
  app.add_option("--admin-token", f.admin_token, "deprecated: visible to every local user; use --admin-token-file "
                                                 "or $GLINT_ADMIN_TOKEN");
  app.add_option("--connection", f.connection, "catalog URL ([database] connection)");
  app.add_option("--filesystem-store-datadir", f.store_dir, "file store directory");
  app.add_option("--workers", f.workers, "network threads ([DEFAULT] workers)");
  app.add_option("--port-file", f.port_file, "write the bound port to this file once listening");
  app.add_flag("--debug", f.debug, "verbose logging");
}

Result<control::Config> BuildConfig(const Flags& f) {
  control::Config config;
  if (!f.config_file.empty()) GLINT_RETURN_IF_ERROR(control::LoadConfigFile(f.config_file, &config));
  if (f.bind_host) config.bind_host = *f.bind_host;
  if (f.bind_port) config.bind_port = *f.bind_port;
  if (f.data_dir) config.data_dir = *f.data_dir;
  if (f.admin_token) config.admin_token = *f.admin_token;
  if (f.bootstrap_admin_token) config.bootstrap_admin_token = true;
  if (f.connection) config.connection = *f.connection;
  if (f.store_dir) config.filesystem_store_datadir = *f.store_dir;
  if (f.workers) config.workers = *f.workers;
  if (f.debug) config.debug = true;
  control::FinalizeConfig(&config);
  return config;
}

void SetUpLogging(const control::Config& config) {
  if (!config.log_file.empty()) spdlog::set_default_logger(spdlog::basic_logger_mt("glint-api", config.log_file));
  spdlog::set_level(config.debug ? spdlog::level::debug : spdlog::level::info);
  spdlog::flush_on(spdlog::level::info);
}

// The default node id is host:port; with an ephemeral port (0) that is only known once
// bound, and two nodes on one host must not share an id (each releases "its own" uploads
// at startup).
void FixEphemeralNodeId(control::Config& config, int port) {
  const std::string ephemeral = ":0";
  if (config.bind_port == 0 && config.node_id.size() > ephemeral.size() &&
      config.node_id.compare(config.node_id.size() - ephemeral.size(), ephemeral.size(), ephemeral) == 0) {
    config.node_id.resize(config.node_id.size() - 1);
    config.node_id += std::to_string(port);
  }
}

void WritePortFile(const std::string& port_file, int port) {
  if (port_file.empty()) return;
  std::string tmp = port_file + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::error_code ec;
  std::filesystem::rename(tmp, port_file, ec);
}

// The store sweep runs beside serving: once now (what a crash left), then periodically
// with the release of expired locks (uploads whose node died).
class Janitor {
 public:
  Janitor(control::ApiService& api, const control::Config& config) : api_(api), config_(config) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Janitor() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  // Debris that could not be removed yet (a dead client's RBD watch lasts ~30 s) gets
  // another sweep soon rather than at the next regular round.
  std::chrono::seconds Sweep() {
    const auto regular = std::chrono::seconds(std::max(5, config_.upload_lock_ttl / 2));
    auto r = api_.SweepStore();
    if (!r.ok()) spdlog::warn("store sweep: {}", r.status().ToString());
    return r.ok() && *r > 0 ? std::min<std::chrono::seconds>(regular, std::chrono::seconds(10)) : regular;
  }
  void Loop() {
    auto wait = Sweep();
    std::unique_lock<std::mutex> l(mu_);
    while (!cv_.wait_for(l, wait, [&] { return done_; })) {
      l.unlock();
      Status r = api_.RecoverUploads(/*at_startup=*/false);
      if (!r.ok()) spdlog::warn("periodic recovery: {}", r.ToString());
      wait = Sweep();
      l.lock();
    }
  }
  control::ApiService& api_;
  const control::Config& config_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// Chunk manifests for images that predate them ([glint] manifest_backfill_interval), on a
// thread of its own so that reading old images' data never delays requests or the sweep.
class ManifestBackfillLoop {
 public:
  ManifestBackfillLoop(control::ApiService& api, int interval_seconds) : api_(api), interval_(interval_seconds) {
    if (interval_ > 0) thread_ = std::thread([this] { Loop(); });
  }
  ~ManifestBackfillLoop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  static constexpr int kImagesPerPass = 16;
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!cv_.wait_for(l, std::chrono::seconds(interval_), [&] { return done_; })) {
      l.unlock();
      auto done = api_.BackfillManifests(kImagesPerPass);
      if (!done.ok()) spdlog::warn("manifest backfill: {}", done.status().ToString());
      if (done.ok() && *done > 0) spdlog::info("manifest backfill: {} image(s) got a chunk manifest", *done);
      l.lock();
    }
  }
  control::ApiService& api_;
  int interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

int StartupFailed(const Status& s) {
  spdlog::critical("{}", s.ToString());
  return 1;
}

int Serve(control::Config& config, const Flags& flags) {
  if (Status s = control::PrepareDataDir(config); !s.ok()) return StartupFailed(s);
  if (Status s = control::ResolveDatabasePassword(&config); !s.ok()) return StartupFailed(s);
  Status s;
  auto catalog = catalog::OpenCatalog(config.connection, &s);
  if (!catalog) return StartupFailed(s);
  auto stores = control::OpenStores(config);
  if (!stores.ok()) return StartupFailed(stores.status());
  auto admin_token = control::BootstrapAdminToken(config, flags.admin_token_file);
  if (!admin_token.ok()) return StartupFailed(admin_token.status());
  auto identity = auth::OpenIdentityStore(config.connection, &s);
  if (!identity) return StartupFailed(s.Prefixed("identity: "));
  auth::TokenService tokens(*identity, config.token_expiration);
  auto authenticator = control::NewAuthenticator(config, *identity, tokens, *admin_token);
  if (!authenticator.ok()) return StartupFailed(authenticator.status());
  auth::LoginLimits limits;
  limits.user_failures = config.lockout_failure_attempts;
  limits.address_failures = config.lockout_failure_attempts_per_address;
  limits.window_seconds = config.lockout_duration;
  auth::PasswordLogin login(*identity, limits);
  control::IdentityApi identity_api(*identity, tokens, **authenticator, login, config.trusted_proxies);
  const bool keystone = control::UsesExternalKeystone(config);

  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  control::WorkerPool pool(std::max(8, 2 * cores + 2));
  auth::PolicyEngine policy(config.enforce_secure_rbac, config.policy_file);
  if (!policy.load_status().ok()) spdlog::error("policy: {}", policy.load_status().ToString());
  auto notifier = notify::MakeNotifier(config.notifications, SystemClock(), SystemRandom());
  if (!notifier.ok()) return StartupFailed(notifier.status());
  control::ApiService api(config, *catalog, **stores, **authenticator, pool.Poster(),
                          keystone ? nullptr : &identity_api, &policy);
  api.SetNotifier(notifier->get());
  if (!config.image_cache_dir.empty()) {
    cache::ImageCacheOptions o;
    o.dir = config.image_cache_dir;
    o.max_size = static_cast<uint64_t>(config.image_cache_max_size);
    o.prefetch_delay = config.image_cache_prefetch_delay_ms / 1000.0;
    auto image_cache = cache::ImageCache::Open(o);
    if (!image_cache.ok()) return StartupFailed(image_cache.status().Prefixed("image cache: "));
    api.SetImageCache(std::move(image_cache).value());
    spdlog::info("image cache in {} ({} bytes){}", o.dir, o.max_size,
                 config.ImageCacheServesDownloads() ? ", serving downloads" : "");
  }
  if (!config.property_protection_file.empty()) {
    auto format = config.property_protection_rule_format == "policies" ? auth::PropertyProtections::Format::kPolicies
                                                                        : auth::PropertyProtections::Format::kRoles;
    auto rules = auth::PropertyProtections::Load(config.property_protection_file, format, &policy);
    if (!rules.ok()) return StartupFailed(rules.status());
    api.SetPropertyProtections(std::move(rules).value());
  }
  control::HttpServer server(api, config, pool);
  if (s = server.Listen(config.bind_host, config.bind_port); !s.ok()) return StartupFailed(s);
  FixEphemeralNodeId(config, server.port());
  // Connections wait in the backlog until recovery is done.
  if (s = api.RecoverUploads(/*at_startup=*/true); !s.ok()) return StartupFailed(s.Prefixed("startup recovery failed: "));
  WritePortFile(flags.port_file, server.port());
  spdlog::info("glint-api listening on {}:{} (catalog {}, {} store, node {}{})", config.bind_host, server.port(),
               control::ConnectionForLog(config.connection), config.default_store, config.node_id,
               admin_token->empty() ? "" : ", bootstrap admin token enabled");
  {
    Janitor janitor(api, config);
    ManifestBackfillLoop backfill(api, config.manifest_backfill_interval);
    server.Run(config.workers > 0 ? config.workers : cores);
  }
  pool.Join();
  spdlog::info("glint-api stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything Glint creates (catalog, token keys, admin token, staged data) is private.
  ::umask(077);
  // A client that leaves mid-download makes sendfile(2) fail with EPIPE, which would also
  // raise SIGPIPE and end the whole server (Asio sends with MSG_NOSIGNAL; sendfile cannot).
  std::signal(SIGPIPE, SIG_IGN);
  // Keep freed heap in the process: returning it (madvise) on every large free costs TLB
  // shootdowns on the request path; RSS stays bounded by the working set.
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  CLI::App app{"glint-api: the Glint image service (Glance Image API v2)"};
  Flags flags;
  AddFlags(app, flags);
  CLI11_PARSE(app, argc, argv);
  auto config = BuildConfig(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "glint-api: %s\n", config.status().message().c_str());
    return 2;
  }
  SetUpLogging(*config);
  if (flags.admin_token) {
    spdlog::warn("--admin-token puts a secret on the command line, where every local user can read it (ps); "
                 "use --admin-token-file or $GLINT_ADMIN_TOKEN");
  }
  return Serve(*config, flags);
}
