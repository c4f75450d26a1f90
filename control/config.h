// Config: glint-api's settings, read from a Glance-style INI file (`--config-file`),
// with Glance's option names where the two overlap. Documented in docs/configuration.md.
// Built once at startup, then read-only and shared by all threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/outbound_filter.h"
#include "common/status.h"
#include "control/boot_set_policy.h"
#include "control/import_plugins.h"
#include "format/verdict.h"
#include "notify/notifier.h"

namespace glint::control {

// One store of a multi-store node (`enabled_backends = id:type, ...`), configured in its
// own section `[id]` with the same option names as `[glance_store]`.
struct BackendConfig {
  std::string id, type;
  std::string filesystem_store_datadir;
  std::string rbd_store_pool = "images", rbd_store_user, rbd_store_ceph_conf;
  int rbd_store_chunk_size = 8;
  bool rbd_thin_provisioning = true;
  std::string description;
};

struct Config {
  // [DEFAULT]
  std::string bind_host = "127.0.0.1";
  int bind_port = 9292;
  int workers = 0;                             // network threads; 0 = number of cores
  int64_t image_size_cap = 1099511627776;      // bytes (Glance's default, 1 TiB)
  std::string worker_self_reference_url;       // this node's URL for other nodes (glance-direct)
  std::string public_endpoint;                 // base URL for links; "" = from request
  // The bootstrap admin token (a bootstrap tool: an admin with no project, no user):
  // off unless enabled. When enabled, the token is admin_token (config file), else
  // $GLINT_ADMIN_TOKEN, else --admin-token-file, else <data_dir>/admin-token (generated).
  bool bootstrap_admin_token = false;
  std::string admin_token;
  std::string data_dir = "/var/lib/glint";     // default home of catalog, store, token
  std::string node_id;                         // this API node's name; "" = host:port
  int image_property_quota = 128;
  int image_tag_quota = 128;
  int image_member_quota = 128;
  int image_location_quota = 10;
  bool show_image_direct_url = false;          // direct_url in image records
  bool show_multiple_locations = false;        // locations in records, and the locations API
  bool use_keystone_limits = false;            // per-project quotas (unified limits)
  bool enforce_secure_rbac = false;            // Glance's secure RBAC defaults (else legacy)
  std::string policy_file;                     // [oslo_policy] policy_file; "" = <data_dir>/policy.yaml
  std::string property_protection_file;        // Glance's; "" = no property protections
  std::string property_protection_rule_format = "roles";  // roles or policies
  // [paste_deploy] flavor = keystone: validate tokens against an external Keystone
  // ([keystone_authtoken], keystonemiddleware's option names); else built-in identity.
  std::string paste_flavor;
  std::string ks_auth_url, ks_www_authenticate_uri, ks_username, ks_password, ks_project_name;
  std::string ks_user_domain_name = "Default", ks_project_domain_name = "Default";
  int ks_token_cache_time = 300;
  std::string ks_cafile;                       // CA bundle for an https Keystone
  bool ks_insecure = false;                    // skip TLS verification (tests only)
  int ks_http_connect_timeout = 5;             // seconds
  int ks_http_read_timeout = 30;               // seconds Keystone may send nothing
  std::vector<std::string> ks_service_token_roles = {"service"};
  bool ks_service_token_roles_required = false;
  int token_expiration = 3600;                 // seconds a built-in identity token lives
  // [security_compliance]: password login throttling (auth/password_login.h).
  int lockout_failure_attempts = 5;            // per user; 0 = off
  int lockout_duration = 300;                  // seconds: the window and the lock
  int lockout_failure_attempts_per_address = 30;  // per source address; 0 = off
  // Proxies whose X-Forwarded-For names the client (exact addresses); none by default.
  std::vector<std::string> trusted_proxies;
  int limit_param_default = 25;
  int api_limit_max = 1000;
  int upload_lock_ttl = 300;                   // seconds an upload lock lives unrenewed
  // [glint] manifest_backfill_interval: seconds between passes that give older images a
  // chunk manifest (control/manifest_backfill.h); 0 = off.
  int manifest_backfill_interval = 0;
  // [glint] list_cache_mib: MiB of image list bodies each node keeps per catalog
  // generation (control/list_cache.h); 0 = off.
  int list_cache_mib = 32;
  // [glint] boot_set_*: the limits of learned boot sets (control/boot_set_policy.h).
  BootSetPolicy boot_sets;
  // The image cache (Glance's options): on when image_cache_dir is set (the /v2/cache API,
  // image API 2.14 and 2.16); downloads go through it when [paste_deploy] flavor names
  // Glance's cache middleware (caching / cachemanagement), as in Glance.
  std::string image_cache_dir;                 // "" = no image cache
  int64_t image_cache_max_size = int64_t{10} << 30;  // bytes
  int image_cache_prefetch_delay_ms = 1000;    // [glint]: a queued image waits this long
  bool ImageCacheServesDownloads() const {
    return !image_cache_dir.empty() && paste_flavor.find("cach") != std::string::npos;
  }
  // Deadlines by phase (seconds); see docs/configuration.md.
  int header_timeout = 30;                     // to receive a request head
  int client_socket_timeout = 900;             // idle between requests; a response unread
  int body_progress_timeout = 60;              // a request body delivering no byte
  int max_connections = 4096;                  // open client connections; 503 beyond
  int drain_delay = 0;                         // s on SIGTERM: /healthcheck 503, still serving
  int drain_timeout = 30;                      // s then for requests in flight before exiting
  std::string log_file;                        // "" = stderr
  bool access_log = true;                      // one info line per request (access_log.h)
  bool debug = false;
  // Interoperable import: Glance's enabled_import_methods (copy-image only matters on a
  // multi-store node).
  std::vector<std::string> enabled_import_methods = {"glance-direct", "web-download", "copy-image"};
  // [import_filtering_opts]: what web-download and the http store may fetch (Glance's
  // options, plus Glint's allowed_networks; see client/outbound_filter.h).
  client::OutboundFilterOptions import_filter;
  int max_redirects = 5;                       // [import_filtering_opts] (Glint)
  // [image_import_opts], [image_conversion], [inject_metadata_properties] (import_plugins.h).
  ImportPluginsConfig import_plugins;
  // Outbound fetches (web-download, the http store): [DEFAULT] options of Glint's.
  std::string outbound_ca_file;                // PEM bundle for https; "" = the system's
  int outbound_connect_timeout = 10;           // seconds
  int outbound_stall_timeout = 60;             // seconds a fetch may deliver nothing
  // [database]
  std::string connection;                      // "" = sqlite:///<data_dir>/glint.db
  std::string connection_password_file;        // [database] connection_password_file
  // [glance_store]
  std::vector<std::string> stores = {"file", "http"};  // http: the read-only http store
  std::string default_store = "file";
  std::string filesystem_store_datadir;        // "" = <data_dir>/store
  std::string staging_dir;  // [os_glance_staging_store] filesystem_store_datadir; "" = <data_dir>/staging
  std::string rbd_store_pool = "images";
  std::string rbd_store_user;                  // "" = librados default (client.admin)
  std::string rbd_store_ceph_conf;             // "" = librados' default search
  int rbd_store_chunk_size = 8;                // MiB, the RBD object size
  bool rbd_thin_provisioning = true;           // Glance's default is false; see docs
  int rados_op_timeout = 60;                   // seconds before a Ceph operation fails
  // [image_format] vmdk_allowed_types (Glance's), require_image_format_match (later Glance's)
  format::Policy image_format;
  // Multi-store: [DEFAULT] enabled_backends and [glance_store] default_backend.
  std::vector<BackendConfig> backends;
  std::string default_backend;

  // [oslo_messaging_notifications] and [DEFAULT]'s notification options (notify/).
  notify::NotifierConfig notifications;

  std::string AdminTokenFile() const { return data_dir + "/admin-token"; }
};

// Reads `path` into `config` (only the options present change). A malformed value (a
// number that is not one, a boolean other than true/false/yes/no/on/off/1/0) is an error
// naming the option, never a silent default.
Status LoadConfigFile(const std::string& path, Config* config);
// The database password, when the connection URL names a user but no password, from
// [database] connection_password_file or $GLINT_DATABASE_PASSWORD (so it need not sit in
// the configuration file), put into c->connection. Called after FinalizeConfig.
Status ResolveDatabasePassword(Config* c);
// The connection URL with its password replaced by "***", for logs.
std::string ConnectionForLog(const std::string& url);

// Fills derived defaults (connection, datadir, node id) after file and flags are applied.
void FinalizeConfig(Config* config);

}  // namespace glint::control
