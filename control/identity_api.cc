#include "control/identity_api.h"

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "control/client_address.h"
#include "control/http_errors.h"
#include "control/json_body.h"

namespace glint::control {

using nlohmann::json;

namespace {

std::string KeystoneTime(int64_t micros) {
  std::string s = FormatIsoSeconds(micros);  // ...SSZ
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return s.substr(0, s.size() - 1) + frac;
}

json Domain() { return {{"id", "default"}, {"name", "Default"}}; }

json VersionJson(const std::string& base) {
  return {{"id", "v3.14"},
          {"status", "stable"},
          {"updated", "2020-04-07T00:00:00Z"},
          {"links", {{{"rel", "self"}, {"href", base + "/identity/v3/"}}}},
          {"media-types", {{{"base", "application/json"}, {"type", "application/vnd.openstack.identity-v3+json"}}}}};
}

HttpResponse Json(int status, const json& body) { return JsonResponse(status, body); }

json ProjectJson(const auth::Project& p, const std::string& base) {
  return {{"id", p.id}, {"name", p.name}, {"domain_id", p.domain_id}, {"enabled", p.enabled},
          {"is_domain", false}, {"parent_id", p.domain_id}, {"description", ""},
          {"links", {{"self", base + "/identity/v3/projects/" + p.id}}}};
}

json UserJson(const auth::User& u, const std::string& base) {
  json j = {{"id", u.id}, {"name", u.name}, {"domain_id", u.domain_id}, {"enabled", u.enabled},
            {"password_expires_at", nullptr},
            {"links", {{"self", base + "/identity/v3/users/" + u.id}}}};
  if (u.default_project_id) j["default_project_id"] = *u.default_project_id;
  return j;
}

bool DefaultDomain(const json& j) {
  if (!j.is_object()) return true;
  if (j.contains("id")) return j["id"] == "default";
  if (j.contains("name")) return j["name"] == "Default" || j["name"] == "default";
  return true;
}

}  // namespace

HttpResponse IdentityApi::TokenBody(const auth::TokenInfo& info, const std::string& base, int status) {
  auto user = store_.GetUser(info.user_id);
  if (!user.ok()) return ErrorResponse(Status::NotFound("Could not find token"));
  json token = {{"methods", info.methods},
                {"user", {{"id", user->id}, {"name", user->name}, {"domain", Domain()}, {"password_expires_at", nullptr}}},
                {"audit_ids", {info.audit_id}},
                {"expires_at", KeystoneTime(info.expires_at)},
                {"issued_at", KeystoneTime(info.issued_at)}};
  if (info.project_id) {
    auto project = store_.GetProject(*info.project_id);
    auto roles = store_.RolesOf(info.user_id, *info.project_id);
    if (!project.ok() || !roles.ok()) return ErrorResponse(Status::NotFound("Could not find token"));
    token["project"] = {{"id", project->id}, {"name", project->name}, {"domain", Domain()}};
    token["is_domain"] = false;
    json rl = json::array();
    for (const auto& r : *roles) rl.push_back({{"id", r.id}, {"name", r.name}});
    token["roles"] = rl;
    auto endpoints = [&](const std::string& url, const std::string& service) {
      json e = json::array();
      for (const char* iface : {"public", "internal", "admin"}) {
        e.push_back({{"id", service + "-" + iface}, {"interface", iface}, {"region", region_},
                     {"region_id", region_}, {"url", url}});
      }
      return e;
    };
    token["catalog"] = {
        {{"type", "image"}, {"name", "glance"}, {"id", "glint-image"}, {"endpoints", endpoints(base, "image")}},
        {{"type", "identity"}, {"name", "keystone"}, {"id", "glint-identity"},
         {"endpoints", endpoints(base + "/identity/v3", "identity")}}};
  }
  return Json(status, {{"token", token}});
}

HttpResponse IdentityApi::IssueToken(const HttpRequest& req, const std::string& base) {
  auto parsed = ParseJsonBody(req.body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const json& body = *parsed;
  if (!body.is_object() || !body.contains("auth") || !body["auth"].is_object()) {
    return ErrorResponse(Status::InvalidArgument("Expecting to find auth in request body."));
  }
  const json& a = body["auth"];
  if (!a.contains("identity") || !a["identity"].contains("methods") || !a["identity"]["methods"].is_array()) {
    return ErrorResponse(Status::InvalidArgument("Expecting to find identity.methods in auth."));
  }
  const json& id = a["identity"];
  auth::TokenInfo info;
  int64_t now = tokens_.clock().NowMicros();
  info.issued_at = now;
  info.expires_at = now + tokens_.lifetime_seconds() * 1000000;
  std::optional<std::string> default_project;
  std::vector<std::string> methods = id["methods"].get<std::vector<std::string>>();
  if (std::find(methods.begin(), methods.end(), "password") != methods.end()) {
    const json& u = id.value("password", json::object()).value("user", json::object());
    if (!u.contains("password") || !u["password"].is_string()) {
      return ErrorResponse(Status::InvalidArgument("Expecting to find password in user."));
    }
    auth::LoginAttempt attempt;
    // A user in another domain costs what a wrong password does (password_login.h).
    attempt.known_domain = DefaultDomain(u.value("domain", json::object()));
    attempt.by_id = u.contains("id");
    attempt.user = attempt.by_id ? u["id"].get<std::string>() : u.value("name", "");
    attempt.password = u["password"].get<std::string>();
    attempt.source = ClientAddress(req, trusted_proxies_);
    auto user = login_.Login(attempt);
    if (!user.ok()) return ErrorResponse(user.status());
    info.user_id = user->id;
    default_project = user->default_project_id;
    info.methods = {"password"};
  } else if (std::find(methods.begin(), methods.end(), "token") != methods.end()) {
    std::string t = id.value("token", json::object()).value("id", "");
    auto prior = tokens_.Validate(t);
    if (!prior.ok()) return ErrorResponse(prior.status());
    info.user_id = prior->user_id;
    info.expires_at = prior->expires_at;  // a rescoped token never outlives its source
    info.methods = {"token"};
  } else {
    return ErrorResponse(Status::Unauthenticated("Unsupported authentication method: use password or token."));
  }
  std::optional<std::string> project_id;
  if (a.contains("scope") && a["scope"].is_object()) {
    const json& sc = a["scope"];
    if (!sc.contains("project")) return ErrorResponse(Status::InvalidArgument("Only project scope is supported."));
    const json& p = sc["project"];
    Result<auth::Project> project = p.contains("id") ? store_.GetProject(p["id"].get<std::string>())
                                                     : store_.FindProject(p.value("name", ""));
    if (!project.ok() || !DefaultDomain(p.value("domain", json::object()))) {
      return ErrorResponse(Status::Unauthenticated("The request you have made requires authentication."));
    }
    project_id = project->id;
  } else if (default_project) {
    project_id = default_project;
  }
  if (project_id) {
    auto roles = store_.RolesOf(info.user_id, *project_id);
    if (!roles.ok()) return ErrorResponse(roles.status());
    if (roles->empty()) {
      if (!(a.contains("scope"))) {
        project_id.reset();  // default project without a role: unscoped, as Keystone does
      } else {
        return ErrorResponse(Status::Unauthenticated("User has no access to project " + *project_id));
      }
    }
  }
  info.project_id = project_id;
  info.audit_id = NewUuid().substr(0, 22);
  auto token = tokens_.Issue(info);
  if (!token.ok()) return ErrorResponse(token.status());
  HttpResponse r = TokenBody(info, base, 201);
  r.Set("X-Subject-Token", *token);
  return r;
}

HttpResponse IdentityApi::Handle(const HttpRequest& req, const std::string& base) {
  std::string path = req.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/identity") {
    return Json(300, {{"versions", {{"values", {VersionJson(base)}}}}});
  }
  if (path == "/identity/v3") return Json(200, {{"version", VersionJson(base)}});
  if (path == "/identity/v3/auth/tokens" && req.method == "POST") return IssueToken(req, base);

  auto caller = authn_.Authenticate({req.Header("x-auth-token"), req.Header("x-service-token")});
  if (!caller.ok()) return ErrorResponse(caller.status());
  if (path == "/identity/v3/auth/tokens") {
    std::string subject(req.Header("x-subject-token"));
    auto info = tokens_.Validate(subject);
    if (req.method == "DELETE") {
      Status s = tokens_.Revoke(subject);
      if (!s.ok()) return ErrorResponse(Status::NotFound("Could not find token"));
      HttpResponse r;
      r.status = 204;
      return r;
    }
    if (!info.ok()) return ErrorResponse(Status::NotFound("Could not find token: " + info.status().message()));
    if (req.method != "GET" && req.method != "HEAD") return ErrorResponse(Status::MethodNotAllowed("Method not allowed"));
    HttpResponse r = TokenBody(*info, base, 200);
    r.Set("X-Subject-Token", subject);
    return r;
  }
  if (req.method != "GET") return ErrorResponse(Status::MethodNotAllowed("Method not allowed"));
  auto query = [&](const char* k) -> std::optional<std::string> {
    for (const auto& [qk, qv] : req.query) {
      if (qk == k) return qv;
    }
    return std::nullopt;
  };
  if (path == "/identity/v3/auth/projects") {
    if (!caller->user_id) return Json(200, {{"projects", json::array()}});
    auto ps = store_.ProjectsOf(*caller->user_id);
    if (!ps.ok()) return ErrorResponse(ps.status());
    json list = json::array();
    for (const auto& p : *ps) list.push_back(ProjectJson(p, base));
    return Json(200, {{"projects", list}});
  }
  if (path == "/identity/v3/projects" || path == "/identity/v3/users") {
    bool projects = path == "/identity/v3/projects";
    // As Keystone's default policy: listing projects or users is for admins.
    if (!caller->is_admin) return ErrorResponse(Status::PermissionDenied("You are not authorized to perform the requested action."));
    json list = json::array();
    auto name = query("name");
    if (projects) {
      auto all = store_.ListProjects();
      if (!all.ok()) return ErrorResponse(all.status());
      for (const auto& p : *all) {
        bool mine = caller->project_id && *caller->project_id == p.id;
        if ((caller->is_admin || mine) && (!name || *name == p.name)) list.push_back(ProjectJson(p, base));
      }
      return Json(200, {{"projects", list}});
    }
    auto all = store_.ListUsers();
    if (!all.ok()) return ErrorResponse(all.status());
    for (const auto& u : *all) {
      bool me = caller->user_id && *caller->user_id == u.id;
      if ((caller->is_admin || me) && (!name || *name == u.name)) list.push_back(UserJson(u, base));
    }
    return Json(200, {{"users", list}});
  }
  if (path.rfind("/identity/v3/projects/", 0) == 0) {
    std::string pid = path.substr(std::string("/identity/v3/projects/").size());
    if (!caller->is_admin && caller->project_id != pid) return ErrorResponse(Status::PermissionDenied("You are not authorized to perform the requested action."));
    auto p = store_.GetProject(pid);
    if (!p.ok()) return ErrorResponse(p.status());
    return Json(200, {{"project", ProjectJson(*p, base)}});
  }
  if (path.rfind("/identity/v3/users/", 0) == 0) {
    std::string uid = path.substr(std::string("/identity/v3/users/").size());
    if (!caller->is_admin && caller->user_id != uid) return ErrorResponse(Status::PermissionDenied("You are not authorized to perform the requested action."));
    auto u = store_.GetUser(uid);
    if (!u.ok()) return ErrorResponse(u.status());
    return Json(200, {{"user", UserJson(*u, base)}});
  }
  return ErrorResponse(Status::NotFound("The resource could not be found: " + req.path));
}

}  // namespace glint::control
