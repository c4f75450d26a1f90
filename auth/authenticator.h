// Authentication: turns a request's credentials into a RequestContext.
//
// Every /v2 request passes exactly one Authenticator (the server calls it from a worker
// thread before routing to a handler). The bootstrap implementation accepts one admin
// token; Keystone-compatible identity plugs in behind the same interface.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace glint::auth {

struct RequestContext {
  std::optional<std::string> user_id;
  std::optional<std::string> project_id;  // becomes an image's owner
  std::vector<std::string> roles;
  bool is_admin = false;
  // Roles of a valid X-Service-Token sent along (a service such as Nova acting for the
  // user): oslo.policy's `service_roles`. Empty without one.
  std::vector<std::string> service_roles;
};

struct Credentials {
  std::string_view auth_token;     // X-Auth-Token
  std::string_view service_token;  // X-Service-Token
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Unauthenticated (401) when the credentials are missing or not valid.
  virtual Result<RequestContext> Authenticate(const Credentials& credentials) = 0;
};

// The bootstrap admin's context (admin, no project) when `presented` equals `admin_token`
// (compared in constant time; an empty admin token matches nothing).
std::optional<RequestContext> MatchAdminToken(std::string_view presented, const std::string& admin_token);

// Accepts exactly `token` (compared in constant time) as an admin with no project,
// as Glance's no-auth pipeline treats every caller.
std::unique_ptr<Authenticator> NewAdminTokenAuthenticator(std::string token);

// Reads the admin token from `path`, or creates one (random, mode 0600) if absent.
Result<std::string> LoadOrCreateAdminToken(const std::string& path);

}  // namespace glint::auth
