#include "common/text.h"
#include "control/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdlib>
#include <fstream>

#include <algorithm>
#include <boost/property_tree/ini_parser.hpp>
#include <cmath>
#include <limits>
#include <type_traits>
#include <boost/property_tree/ptree.hpp>
#include <optional>
#include <sstream>

#include "common/bool_word.h"

namespace glint::control {
namespace {

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!Trimmed(item).empty()) out.push_back(Trimmed(item));
  }
  return out;
}

// Typed access to the parsed INI tree; the first malformed value is remembered.
class IniReader {
 public:
  explicit IniReader(const boost::property_tree::ptree& pt) : pt_(pt) {}

  std::optional<std::string> Raw(const std::string& key) const {
    if (auto v = pt_.get_optional<std::string>(key)) return Trimmed(*v);
    return std::nullopt;
  }
  void Str(const std::string& key, std::string* out) const {
    if (auto v = Raw(key)) *out = *v;
  }
  template <typename T>
  void Num(const std::string& key, T* out) {
    auto v = Raw(key);
    if (!v) return;
    try {
      size_t pos = 0;
      long long n = std::stoll(*v, &pos);
      if (pos != v->size()) throw std::invalid_argument(*v);
      if (!Fits<T>(n)) return Fail(key, "'" + *v + "' is out of range");
      *out = static_cast<T>(n);
    } catch (const std::exception&) {
      Fail(key, "'" + *v + "' is not an integer");
    }
  }
  // A decimal number (0.25, 1e-2); not NaN or infinite.
  void Real(const std::string& key, double* out) {
    auto v = Raw(key);
    if (!v) return;
    try {
      size_t pos = 0;
      double d = std::stod(*v, &pos);
      if (pos != v->size() || !std::isfinite(d)) throw std::invalid_argument(*v);
      *out = d;
    } catch (const std::exception&) {
      Fail(key, "'" + *v + "' is not a number");
    }
  }
  void Flag(const std::string& key, bool* out) {
    auto v = Raw(key);
    if (!v) return;
    if (auto b = ParseBoolWord(*v)) {
      *out = *b;
    } else {
      Fail(key, "'" + *v + "' is not a boolean (true/false)");
    }
  }
  void List(const std::string& key, std::vector<std::string>* out) const {
    if (auto v = Raw(key)) *out = SplitList(*v);
  }
  void Ports(const std::string& key, std::vector<int>* out) {
    auto v = Raw(key);
    if (!v) return;
    out->clear();
    for (const auto& item : SplitList(*v)) {
      if (item.size() > 5 || item.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(item) < 1 || std::stoi(item) > 65535) {
        return Fail(key, "'" + item + "' is not a port (1..65535)");
      }
      out->push_back(std::stoi(item));
    }
  }
  void Fail(const std::string& key, const std::string& why) {
    if (error_.ok()) error_ = Status::InvalidArgument("option " + key + ": " + why);
  }
  const Status& error() const { return error_; }

 private:
  // Whether `n` fits in T: no negative count wraps around, no large one is cut.
  template <typename T>
  static bool Fits(long long n) {
    if constexpr (std::is_unsigned_v<T>) {
      return n >= 0 && static_cast<unsigned long long>(n) <= std::numeric_limits<T>::max();
    } else {
      return n >= static_cast<long long>(std::numeric_limits<T>::min()) &&
             n <= static_cast<long long>(std::numeric_limits<T>::max());
    }
  }
  const boost::property_tree::ptree& pt_;
  Status error_;
};

void ReadDefaults(IniReader& r, Config* c) {
  r.Str("DEFAULT.bind_host", &c->bind_host);
  r.Num("DEFAULT.bind_port", &c->bind_port);
  r.Num("DEFAULT.workers", &c->workers);
  r.Num("DEFAULT.image_size_cap", &c->image_size_cap);
  r.Str("DEFAULT.public_endpoint", &c->public_endpoint);
  r.Str("DEFAULT.worker_self_reference_url", &c->worker_self_reference_url);
  r.Str("DEFAULT.admin_token", &c->admin_token);
  r.Flag("DEFAULT.bootstrap_admin_token", &c->bootstrap_admin_token);
  r.Str("DEFAULT.data_dir", &c->data_dir);
  r.Str("DEFAULT.node_id", &c->node_id);
  r.Num("DEFAULT.image_property_quota", &c->image_property_quota);
  r.Num("DEFAULT.image_tag_quota", &c->image_tag_quota);
  r.Num("DEFAULT.image_member_quota", &c->image_member_quota);
  r.Num("DEFAULT.image_location_quota", &c->image_location_quota);
  r.Flag("DEFAULT.show_image_direct_url", &c->show_image_direct_url);
  r.Flag("DEFAULT.show_multiple_locations", &c->show_multiple_locations);
  r.Flag("DEFAULT.enforce_secure_rbac", &c->enforce_secure_rbac);
  r.Str("DEFAULT.property_protection_file", &c->property_protection_file);
  r.Str("DEFAULT.property_protection_rule_format", &c->property_protection_rule_format);
  r.Flag("DEFAULT.use_keystone_limits", &c->use_keystone_limits);
  r.Num("DEFAULT.limit_param_default", &c->limit_param_default);
  r.Num("DEFAULT.api_limit_max", &c->api_limit_max);
  r.Num("DEFAULT.upload_lock_ttl", &c->upload_lock_ttl);
  r.Num("glint.manifest_backfill_interval", &c->manifest_backfill_interval);
  r.Num("glint.list_cache_mib", &c->list_cache_mib);
  r.Str("DEFAULT.image_cache_dir", &c->image_cache_dir);
  r.Num("DEFAULT.image_cache_max_size", &c->image_cache_max_size);
  r.Num("glint.image_cache_prefetch_delay_ms", &c->image_cache_prefetch_delay_ms);
  r.Num("DEFAULT.header_timeout", &c->header_timeout);
  r.Num("DEFAULT.client_socket_timeout", &c->client_socket_timeout);
  r.Num("DEFAULT.body_progress_timeout", &c->body_progress_timeout);
  r.Num("DEFAULT.max_connections", &c->max_connections);
  r.Num("DEFAULT.drain_delay", &c->drain_delay);
  r.Num("DEFAULT.drain_timeout", &c->drain_timeout);
  r.Str("DEFAULT.log_file", &c->log_file);
  r.Flag("DEFAULT.access_log", &c->access_log);
  r.Flag("DEFAULT.debug", &c->debug);
  r.Str("oslo_policy.policy_file", &c->policy_file);
  r.Str("paste_deploy.flavor", &c->paste_flavor);
  r.Num("token.expiration", &c->token_expiration);
  r.Num("security_compliance.lockout_failure_attempts", &c->lockout_failure_attempts);
  r.Num("security_compliance.lockout_duration", &c->lockout_duration);
  r.Num("security_compliance.lockout_failure_attempts_per_address", &c->lockout_failure_attempts_per_address);
  r.List("DEFAULT.trusted_proxies", &c->trusted_proxies);
  r.Str("database.connection", &c->connection);
  r.Str("database.connection_password_file", &c->connection_password_file);
}

// A password in a URL's user-info part (scheme://user:password@host/...).
bool UrlHasPassword(const std::string& url) {
  auto sep = url.find("://");
  if (sep == std::string::npos) return false;
  auto at = url.find('@', sep + 3);
  auto slash = url.find('/', sep + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return false;
  return url.find(':', sep + 3) < at;
}

void ReadNotifications(IniReader& r, const std::string& path, Config* c) {
  notify::NotifierConfig& n = c->notifications;
  r.List("oslo_messaging_notifications.driver", &n.drivers);
  r.Str("DEFAULT.transport_url", &n.transport_url);
  r.Str("oslo_messaging_notifications.transport_url", &n.transport_url);
  r.List("oslo_messaging_notifications.topics", &n.topics);
  r.Num("oslo_messaging_notifications.queue_size", &n.queue_size);
  r.Str("DEFAULT.default_publisher_id", &n.publisher_id);
  r.List("DEFAULT.disabled_notifications", &n.disabled);
  r.Str("DEFAULT.control_exchange", &n.control_exchange);
  struct stat st {};
  if (UrlHasPassword(n.transport_url) && ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH)) {
    spdlog::warn("{} is readable by every local user and its transport_url holds a password: make it private", path);
  }
}

void ReadKeystone(IniReader& r, Config* c) {
  r.Str("keystone_authtoken.auth_url", &c->ks_auth_url);
  r.Str("keystone_authtoken.www_authenticate_uri", &c->ks_www_authenticate_uri);
  r.Str("keystone_authtoken.username", &c->ks_username);
  r.Str("keystone_authtoken.password", &c->ks_password);
  r.Str("keystone_authtoken.project_name", &c->ks_project_name);
  r.Str("keystone_authtoken.user_domain_name", &c->ks_user_domain_name);
  r.Str("keystone_authtoken.project_domain_name", &c->ks_project_domain_name);
  r.Num("keystone_authtoken.token_cache_time", &c->ks_token_cache_time);
  r.Str("keystone_authtoken.cafile", &c->ks_cafile);
  r.Flag("keystone_authtoken.insecure", &c->ks_insecure);
  r.Num("keystone_authtoken.http_connect_timeout", &c->ks_http_connect_timeout);
  r.Num("keystone_authtoken.http_read_timeout", &c->ks_http_read_timeout);
  r.List("keystone_authtoken.service_token_roles", &c->ks_service_token_roles);
  r.Flag("keystone_authtoken.service_token_roles_required", &c->ks_service_token_roles_required);
}

void ReadImport(IniReader& r, Config* c) {
  r.List("DEFAULT.enabled_import_methods", &c->enabled_import_methods);
  for (auto& m : c->enabled_import_methods) {  // Glance's list items may be quoted
    if (m.size() >= 2 && (m.front() == '\'' || m.front() == '"') && m.back() == m.front()) m = m.substr(1, m.size() - 2);
  }
  auto& f = c->import_filter;
  r.List("import_filtering_opts.allowed_schemes", &f.allowed_schemes);
  r.List("import_filtering_opts.disallowed_schemes", &f.disallowed_schemes);
  r.List("import_filtering_opts.allowed_hosts", &f.allowed_hosts);
  r.List("import_filtering_opts.disallowed_hosts", &f.disallowed_hosts);
  r.Ports("import_filtering_opts.allowed_ports", &f.allowed_ports);
  r.Ports("import_filtering_opts.disallowed_ports", &f.disallowed_ports);
  r.List("import_filtering_opts.allowed_networks", &f.allowed_networks);
  r.Num("import_filtering_opts.max_redirects", &c->max_redirects);
  r.Str("DEFAULT.outbound_ca_file", &c->outbound_ca_file);
  r.Num("DEFAULT.outbound_connect_timeout", &c->outbound_connect_timeout);
  r.Num("DEFAULT.outbound_stall_timeout", &c->outbound_stall_timeout);
}

std::string Unquoted(std::string s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

// Glance's plugin list is written as a Python list: ['image_conversion', 'inject_image_metadata'].
void ReadPlugins(IniReader& r, Config* c) {
  auto& p = c->import_plugins;
  if (auto v = r.Raw("image_import_opts.image_import_plugins")) {
    std::string list = Trimmed(*v);
    if (!list.empty() && list.front() == '[' && list.back() == ']') list = list.substr(1, list.size() - 2);
    p.plugins.clear();
    for (const auto& item : SplitList(list)) p.plugins.push_back(Unquoted(Trimmed(item)));
  }
  r.Str("image_conversion.output_format", &p.conversion.output_format);
  r.Str("image_conversion.qemu_img_path", &p.conversion.qemu_img);
  r.Num("image_conversion.cpu_time_limit", &p.conversion.cpu_time);
  r.Num("image_conversion.memory_limit_mib", &p.conversion.memory_mib);
  r.Num("image_conversion.wall_time_limit", &p.conversion.wall_time);
  r.Str("image_decompression.gzip_path", &p.decompression.gzip);
  r.Str("image_decompression.bsdtar_path", &p.decompression.bsdtar);
  r.Num("image_decompression.cpu_time_limit", &p.decompression.cpu_time);
  r.Num("image_decompression.memory_limit_mib", &p.decompression.memory_mib);
  r.Num("image_decompression.wall_time_limit", &p.decompression.wall_time);
  r.List("inject_metadata_properties.ignore_user_roles", &p.inject_ignore_user_roles);
  if (auto v = r.Raw("inject_metadata_properties.inject")) {  // oslo's DictOpt: key:value,key:value
    p.inject.clear();
    for (const auto& item : SplitList(*v)) {
      size_t colon = item.find(':');
      if (colon == std::string::npos) return r.Fail("inject_metadata_properties.inject", "entry '" + item + "' must be key:value");
      p.inject[Trimmed(item.substr(0, colon))] = Trimmed(item.substr(colon + 1));
    }
  }
  if (Status s = ValidateImportPlugins(p); !s.ok()) r.Fail("image_import_opts.image_import_plugins", s.message());
}

void ReadSingleStore(IniReader& r, Config* c) {
  r.List("glance_store.stores", &c->stores);
  r.Str("glance_store.default_store", &c->default_store);
  r.Str("glance_store.filesystem_store_datadir", &c->filesystem_store_datadir);
  r.Str("os_glance_staging_store.filesystem_store_datadir", &c->staging_dir);
  r.Str("glance_store.default_backend", &c->default_backend);
  r.Str("glance_store.rbd_store_pool", &c->rbd_store_pool);
  r.Str("glance_store.rbd_store_user", &c->rbd_store_user);
  r.Str("glance_store.rbd_store_ceph_conf", &c->rbd_store_ceph_conf);
  r.Num("glance_store.rbd_store_chunk_size", &c->rbd_store_chunk_size);
  r.Num("glance_store.rados_op_timeout", &c->rados_op_timeout);
  r.Flag("glance_store.rbd_thin_provisioning", &c->rbd_thin_provisioning);
}

// `enabled_backends = id:type, ...`, each configured in its own section [id].
void ReadBackends(IniReader& r, Config* c) {
  auto v = r.Raw("DEFAULT.enabled_backends");
  if (!v) return;
  c->backends.clear();
  for (const auto& item : SplitList(*v)) {
    size_t colon = item.find(':');
    if (colon == std::string::npos) return r.Fail("DEFAULT.enabled_backends", "entry '" + item + "' must be id:type");
    BackendConfig b;
    b.id = Trimmed(item.substr(0, colon));
    b.type = Trimmed(item.substr(colon + 1));
    if (b.type != "file" && b.type != "rbd" && b.type != "http") {
      return r.Fail("DEFAULT.enabled_backends", "backend " + b.id + ": type " + b.type + " is not file, rbd or http");
    }
    std::string sec = b.id + ".";
    r.Str(sec + "filesystem_store_datadir", &b.filesystem_store_datadir);
    r.Str(sec + "rbd_store_pool", &b.rbd_store_pool);
    r.Str(sec + "rbd_store_user", &b.rbd_store_user);
    r.Str(sec + "rbd_store_ceph_conf", &b.rbd_store_ceph_conf);
    r.Num(sec + "rbd_store_chunk_size", &b.rbd_store_chunk_size);
    r.Str(sec + "store_description", &b.description);
    r.Flag(sec + "rbd_thin_provisioning", &b.rbd_thin_provisioning);
    c->backends.push_back(b);
  }
}

// [glint] boot_set_*: the learned boot sets' limits, range-checked by LoadConfigFile.
void ReadBootSets(IniReader& r, Config* c) {
  BootSetPolicy& p = c->boot_sets;
  r.Num("glint.boot_set_max_report_chunks", &p.max_report_chunks);
  r.Num("glint.boot_set_max_merged_chunks", &p.max_merged_chunks);
  r.Real("glint.boot_set_keep_fraction", &p.keep_fraction);
  r.Num("glint.boot_set_report_interval", &p.report_interval);
  r.Num("glint.boot_set_max_hosts_per_reporter", &p.max_hosts_per_reporter);
  r.Num("glint.boot_set_max_reports_per_image", &p.max_reports_per_image);
}

void TrimTrailingSlashes(std::string* s) {
  while (s->size() > 1 && s->back() == '/') s->pop_back();
}

}  // namespace

Status LoadConfigFile(const std::string& path, Config* c) {
  boost::property_tree::ptree pt;
  try {
    boost::property_tree::read_ini(path, pt);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("cannot read config file " + path + ": " + e.what());
  }
  IniReader reader(pt);
  ReadDefaults(reader, c);
  struct stat st {};
  if (UrlHasPassword(c->connection) && ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH)) {
    spdlog::warn("{} is readable by every local user and its [database] connection holds a password: "
                 "make it private, or use connection_password_file or $GLINT_DATABASE_PASSWORD", path);
  }
  ReadKeystone(reader, c);
  ReadNotifications(reader, path, c);
  ReadSingleStore(reader, c);
  ReadImport(reader, c);
  ReadBackends(reader, c);
  ReadPlugins(reader, c);
  ReadBootSets(reader, c);
  reader.List("image_format.vmdk_allowed_types", &c->image_format.vmdk_allowed_types);
  reader.Flag("image_format.require_image_format_match", &c->image_format.require_image_format_match);
  if (!reader.error().ok()) return reader.error().Prefixed("config file " + path + ": ");
  if (c->paste_flavor.find("cach") != std::string::npos && c->image_cache_dir.empty()) {
    return Status::InvalidArgument("config file " + path + ": [paste_deploy] flavor " + c->paste_flavor +
                                   " caches images, so it needs [DEFAULT] image_cache_dir");
  }
  if (Status s = ValidateBootSetPolicy(c->boot_sets); !s.ok()) return s.Prefixed("config file " + path + ": ");
  if (c->list_cache_mib < 0 || c->list_cache_mib > 4096) {
    return Status::InvalidArgument("config file " + path + ": [glint] list_cache_mib must be 0 to 4096");
  }
  if (c->image_cache_max_size <= 0) {
    return Status::InvalidArgument("config file " + path + ": [DEFAULT] image_cache_max_size must be positive");
  }
  std::string& format = c->property_protection_rule_format;
  for (char& ch : format) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (format != "roles" && format != "policies") {
    return Status::InvalidArgument("config file " + path + ": property_protection_rule_format must be "
                                   "'roles' or 'policies', not '" + format + "'");
  }
  return Status::Ok();
}

Status ResolveDatabasePassword(Config* c) {
  auto sep = c->connection.find("://");
  bool mysql = c->connection.compare(0, 5, "mysql") == 0 || c->connection.compare(0, 7, "mariadb") == 0;
  if (sep == std::string::npos || !mysql) return Status::Ok();
  std::string password;
  if (!c->connection_password_file.empty()) {
    std::ifstream in(c->connection_password_file);
    if (!in || !std::getline(in, password) || password.empty()) {
      return Status::InvalidArgument("cannot read the database password from " + c->connection_password_file);
    }
  } else if (const char* env = std::getenv("GLINT_DATABASE_PASSWORD"); env && *env) {
    password = env;
  } else {
    return Status::Ok();
  }
  auto at = c->connection.find('@', sep + 3);
  if (at == std::string::npos || UrlHasPassword(c->connection)) {
    return Status::InvalidArgument("a database password file or $GLINT_DATABASE_PASSWORD needs a connection URL "
                                   "with a user and no password (mysql+pymysql://glint@host/glint)");
  }
  std::string encoded;
  for (unsigned char ch : password) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      encoded += static_cast<char>(ch);
    } else {
      static const char* kHex = "0123456789ABCDEF";
      encoded += {'%', kHex[ch >> 4], kHex[ch & 15]};
    }
  }
  c->connection.insert(at, ":" + encoded);
  return Status::Ok();
}

std::string ConnectionForLog(const std::string& url) {
  if (!UrlHasPassword(url)) return url;
  auto sep = url.find("://");
  auto at = url.find('@', sep + 3);
  auto colon = url.find(':', sep + 3);
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

void FinalizeConfig(Config* c) {
  TrimTrailingSlashes(&c->data_dir);
  if (c->connection.empty()) c->connection = "sqlite:///" + c->data_dir + "/glint.db";
  if (c->filesystem_store_datadir.empty()) c->filesystem_store_datadir = c->data_dir + "/store";
  TrimTrailingSlashes(&c->filesystem_store_datadir);
  if (c->policy_file.empty()) c->policy_file = c->data_dir + "/policy.yaml";
  if (c->staging_dir.empty()) c->staging_dir = c->data_dir + "/staging";
  TrimTrailingSlashes(&c->staging_dir);
  if (c->node_id.empty()) {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    c->node_id = std::string(host) + ":" + std::to_string(c->bind_port);
  }
  while (!c->public_endpoint.empty() && c->public_endpoint.back() == '/') c->public_endpoint.pop_back();
}

}  // namespace glint::control
