#include "control/server_setup.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "auth/keystone_authenticator.h"
#include "control/web_download.h"

namespace glint::control {
namespace {

// A file of ours that others may read is made private; missing files are fine.
void Tighten(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  if (::chmod(path.c_str(), st.st_mode & 0700) == 0) {
    spdlog::warn("{} was readable by other users (mode {:o}); made it private", path, st.st_mode & 0777);
  } else {
    spdlog::error("{} is readable by other users (mode {:o}) and could not be made private", path, st.st_mode & 0777);
  }
}

std::string SqlitePath(const std::string& connection) {
  const std::string prefix = "sqlite:///";
  return connection.rfind(prefix, 0) == 0 ? connection.substr(prefix.size()) : "";
}

store::RbdOptions RbdOptionsOf(const BackendConfig& b, const Config& config) {
  store::RbdOptions rbd;
  rbd.pool = b.rbd_store_pool;
  rbd.user = b.rbd_store_user;
  rbd.ceph_conf = b.rbd_store_ceph_conf;
  rbd.chunk_size_mib = b.rbd_store_chunk_size;
  rbd.thin_provisioning = b.rbd_thin_provisioning;
  rbd.op_timeout_seconds = config.rados_op_timeout;
  return rbd;
}

// [glance_store] default_store as the one backend of a single-store node.
Result<BackendConfig> SingleStore(const Config& config) {
  if (std::find(config.stores.begin(), config.stores.end(), config.default_store) == config.stores.end()) {
    return Status::InvalidArgument("[glance_store] default_store " + config.default_store + " is not in stores");
  }
  BackendConfig b;
  b.id = b.type = config.default_store;
  b.filesystem_store_datadir = config.filesystem_store_datadir;
  b.rbd_store_pool = config.rbd_store_pool;
  b.rbd_store_user = config.rbd_store_user;
  b.rbd_store_ceph_conf = config.rbd_store_ceph_conf;
  b.rbd_store_chunk_size = config.rbd_store_chunk_size;
  b.rbd_thin_provisioning = config.rbd_thin_provisioning;
  return b;
}

}  // namespace

Status PrepareDataDir(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::IOError("cannot create data dir " + config.data_dir + ": " + ec.message());
  Tighten(config.data_dir);
  Tighten(config.AdminTokenFile());
  std::string db = SqlitePath(config.connection);
  if (!db.empty()) {
    for (const char* suffix : {"", "-wal", "-shm"}) Tighten(db + suffix);
  }
  return Status::Ok();
}

Result<std::unique_ptr<store::StoreSet>> OpenStores(const Config& config) {
  std::vector<BackendConfig> wanted = config.backends;
  const bool multi = !wanted.empty();
  if (!multi) {
    auto single = SingleStore(config);
    if (!single.ok()) return single.status();
    wanted.push_back(*single);
  }
  auto stores = std::make_unique<store::StoreSet>(multi);
  for (const auto& b : wanted) {
    Result<std::unique_ptr<store::Backend>> backend =
        Status::InvalidArgument("backend " + b.id + ": unknown type '" + b.type + "': use file, rbd or http");
    if (b.type == "file") {
      std::string dir = b.filesystem_store_datadir.empty() ? config.data_dir + "/store-" + b.id
                                                          : b.filesystem_store_datadir;
      backend = store::NewFileBackend(b.id, dir);
    } else if (b.type == "rbd") {
      backend = store::NewRbdBackend(b.id, RbdOptionsOf(b, config));
    } else if (b.type == "http") {
      if (!multi || b.id == config.default_backend) {
        return Status::InvalidArgument("the http store is read-only: it cannot be the default store");
      }
      backend = store::NewHttpBackend(b.id, OutboundOptionsOf(config));
    }
    if (!backend.ok()) return backend.status().Prefixed("store " + b.id + ": ");
    stores->Add(b.id, b.type, std::move(backend).value(), multi ? b.id == config.default_backend : true);
  }
  if (!multi && std::find(config.stores.begin(), config.stores.end(), "http") != config.stores.end()) {
    stores->AddReader(store::NewHttpBackend("http", OutboundOptionsOf(config)));
  }
  if (multi && !stores->Find(config.default_backend)) {
    return Status::InvalidArgument("[glance_store] default_backend '" + config.default_backend +
                                   "' is not in enabled_backends");
  }
  return stores;
}

Result<std::string> BootstrapAdminToken(const Config& config, const std::string& from_file) {
  const char* env = std::getenv("GLINT_ADMIN_TOKEN");
  if (!config.bootstrap_admin_token) {
    if (!config.admin_token.empty() || (env && *env) || !from_file.empty()) {
      spdlog::warn("an admin token was given but bootstrap_admin_token is off: it is not accepted");
    }
    return std::string();
  }
  if (!config.admin_token.empty()) return config.admin_token;
  if (env && *env) return std::string(env);
  if (!from_file.empty()) {
    std::ifstream in(from_file);
    std::string token;
    if (!in || !std::getline(in, token) || token.empty()) {
      return Status::InvalidArgument("cannot read an admin token from " + from_file);
    }
    return token;
  }
  return auth::LoadOrCreateAdminToken(config.AdminTokenFile());
}

bool UsesExternalKeystone(const Config& config) { return config.paste_flavor.find("keystone") != std::string::npos; }

Result<std::unique_ptr<auth::Authenticator>> NewAuthenticator(const Config& config, auth::IdentityStore& identity,
                                                              auth::TokenService& tokens,
                                                              const std::string& admin_token) {
  if (!UsesExternalKeystone(config)) return auth::NewIdentityAuthenticator(identity, tokens, admin_token);
  if (config.ks_auth_url.empty()) {
    return Status::InvalidArgument("[paste_deploy] flavor = keystone needs [keystone_authtoken] auth_url");
  }
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
  ks.http.stall_timeout_ms = config.ks_http_read_timeout * 1000;
  ks.admin_token = admin_token;
  spdlog::info("validating tokens against Keystone at {}", ks.auth_url);
  return auth::NewKeystoneAuthenticator(ks);
}

}  // namespace glint::control
