#include "control/config.h"

#include <unistd.h>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <sstream>

namespace glint::control {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

Status LoadConfigFile(const std::string& path, Config* c) {
  boost::property_tree::ptree pt;
  try {
    boost::property_tree::read_ini(path, pt);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("cannot read config file " + path + ": " + e.what());
  }
  try {
    auto str = [&](const char* key, std::string* out) {
      if (auto v = pt.get_optional<std::string>(key)) *out = Trim(*v);
    };
    auto num = [&](const char* key, auto* out) {
      if (auto v = pt.get_optional<std::string>(key)) {
        *out = static_cast<std::remove_pointer_t<decltype(out)>>(std::stoll(Trim(*v)));
      }
    };
    str("DEFAULT.bind_host", &c->bind_host);
    num("DEFAULT.bind_port", &c->bind_port);
    num("DEFAULT.workers", &c->workers);
    num("DEFAULT.image_size_cap", &c->image_size_cap);
    str("DEFAULT.public_endpoint", &c->public_endpoint);
    str("DEFAULT.admin_token", &c->admin_token);
    str("DEFAULT.data_dir", &c->data_dir);
    str("DEFAULT.node_id", &c->node_id);
    num("DEFAULT.image_property_quota", &c->image_property_quota);
    num("DEFAULT.image_tag_quota", &c->image_tag_quota);
    num("DEFAULT.image_member_quota", &c->image_member_quota);
    num("DEFAULT.image_location_quota", &c->image_location_quota);
    auto flag = [&](const char* key, bool* out) {
      if (auto v = pt.get_optional<std::string>(key)) {
        std::string t = Trim(*v);
        *out = (t == "true" || t == "True" || t == "1" || t == "yes");
      }
    };
    flag("DEFAULT.show_image_direct_url", &c->show_image_direct_url);
    flag("DEFAULT.show_multiple_locations", &c->show_multiple_locations);
    if (auto v = pt.get_optional<std::string>("DEFAULT.enforce_secure_rbac")) {
      std::string t = Trim(*v);
      c->enforce_secure_rbac = (t == "true" || t == "True" || t == "1" || t == "yes");
    }
    str("oslo_policy.policy_file", &c->policy_file);
    str("paste_deploy.flavor", &c->paste_flavor);
    str("keystone_authtoken.auth_url", &c->ks_auth_url);
    str("keystone_authtoken.www_authenticate_uri", &c->ks_www_authenticate_uri);
    str("keystone_authtoken.username", &c->ks_username);
    str("keystone_authtoken.password", &c->ks_password);
    str("keystone_authtoken.project_name", &c->ks_project_name);
    str("keystone_authtoken.user_domain_name", &c->ks_user_domain_name);
    str("keystone_authtoken.project_domain_name", &c->ks_project_domain_name);
    num("keystone_authtoken.token_cache_time", &c->ks_token_cache_time);
    if (auto v = pt.get_optional<std::string>("DEFAULT.use_keystone_limits")) {
      std::string t = Trim(*v);
      c->use_keystone_limits = (t == "true" || t == "True" || t == "1" || t == "yes");
    }
    num("token.expiration", &c->token_expiration);
    num("DEFAULT.limit_param_default", &c->limit_param_default);
    num("DEFAULT.api_limit_max", &c->api_limit_max);
    num("DEFAULT.upload_lock_ttl", &c->upload_lock_ttl);
    num("DEFAULT.client_socket_timeout", &c->client_socket_timeout);
    str("DEFAULT.log_file", &c->log_file);
    if (auto v = pt.get_optional<std::string>("DEFAULT.debug")) {  // NOLINT
      std::string s = Trim(*v);
      c->debug = (s == "true" || s == "True" || s == "1" || s == "yes");
    }
    str("database.connection", &c->connection);
    if (auto v = pt.get_optional<std::string>("glance_store.stores")) {
      c->stores.clear();
      std::stringstream ss(*v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        if (!Trim(item).empty()) c->stores.push_back(Trim(item));
      }
    }
    str("glance_store.default_store", &c->default_store);
    str("glance_store.filesystem_store_datadir", &c->filesystem_store_datadir);
    str("os_glance_staging_store.filesystem_store_datadir", &c->staging_dir);
    str("glance_store.default_backend", &c->default_backend);
    if (auto v = pt.get_optional<std::string>("DEFAULT.enabled_backends")) {
      c->backends.clear();
      std::stringstream ss(*v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        item = Trim(item);
        size_t colon = item.find(':');
        if (item.empty()) continue;
        if (colon == std::string::npos) {
          return Status::InvalidArgument("enabled_backends entry '" + item + "' must be id:type");
        }
        BackendConfig b;
        b.id = Trim(item.substr(0, colon));
        b.type = Trim(item.substr(colon + 1));
        if (b.type != "file" && b.type != "rbd") {
          return Status::InvalidArgument("backend " + b.id + ": type " + b.type + " is not file or rbd");
        }
        std::string sec = b.id + ".";
        str((sec + "filesystem_store_datadir").c_str(), &b.filesystem_store_datadir);
        str((sec + "rbd_store_pool").c_str(), &b.rbd_store_pool);
        str((sec + "rbd_store_user").c_str(), &b.rbd_store_user);
        str((sec + "rbd_store_ceph_conf").c_str(), &b.rbd_store_ceph_conf);
        num((sec + "rbd_store_chunk_size").c_str(), &b.rbd_store_chunk_size);
        str((sec + "store_description").c_str(), &b.description);
        if (auto t = pt.get_optional<std::string>(sec + "rbd_thin_provisioning")) {
          std::string x = Trim(*t);
          b.rbd_thin_provisioning = (x == "true" || x == "True" || x == "1" || x == "yes");
        }
        c->backends.push_back(b);
      }
    }
    str("glance_store.rbd_store_pool", &c->rbd_store_pool);
    str("glance_store.rbd_store_user", &c->rbd_store_user);
    str("glance_store.rbd_store_ceph_conf", &c->rbd_store_ceph_conf);
    num("glance_store.rbd_store_chunk_size", &c->rbd_store_chunk_size);
    num("glance_store.rados_op_timeout", &c->rados_op_timeout);
    if (auto v = pt.get_optional<std::string>("glance_store.rbd_thin_provisioning")) {
      std::string t = Trim(*v);
      c->rbd_thin_provisioning = (t == "true" || t == "True" || t == "1" || t == "yes");
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("bad value in config file " + path + ": " + e.what());
  }
  return Status::Ok();
}

void FinalizeConfig(Config* c) {
  while (c->data_dir.size() > 1 && c->data_dir.back() == '/') c->data_dir.pop_back();
  if (c->connection.empty()) c->connection = "sqlite:///" + c->data_dir + "/glint.db";
  if (c->filesystem_store_datadir.empty()) c->filesystem_store_datadir = c->data_dir + "/store";
  while (c->filesystem_store_datadir.size() > 1 && c->filesystem_store_datadir.back() == '/') {
    c->filesystem_store_datadir.pop_back();
  }
  if (c->policy_file.empty()) c->policy_file = c->data_dir + "/policy.yaml";
  if (c->staging_dir.empty()) c->staging_dir = c->data_dir + "/staging";
  while (c->staging_dir.size() > 1 && c->staging_dir.back() == '/') c->staging_dir.pop_back();
  if (c->node_id.empty()) {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    c->node_id = std::string(host) + ":" + std::to_string(c->bind_port);
  }
  while (!c->public_endpoint.empty() && c->public_endpoint.back() == '/') {
    c->public_endpoint.pop_back();
  }
}

}  // namespace glint::control
