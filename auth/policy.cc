#include "auth/policy.h"

#include <sys/stat.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/ids.h"
#include "common/text.h"

namespace glint::auth {

namespace {

// Glance 25's image rules: name, default (secure RBAC), deprecated (legacy) form.
struct DefaultRule {
  const char* name;
  const char* check;
  const char* deprecated;
};
constexpr const char* kMetadefRead =
    "role:admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))";
const DefaultRule kDefaults[] = {
    {"default", "", "role:admin"},
    {"context_is_admin", "role:admin", nullptr},
    {"add_image", "role:admin or (role:member and project_id:%(project_id)s and project_id:%(owner)s)", "rule:default"},
    {"delete_image", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"get_image",
     "role:admin or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s or "
     "'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s))",
     "rule:default"},
    {"get_images", "role:admin or (role:reader and project_id:%(project_id)s)", "rule:default"},
    {"modify_image", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"publicize_image", "role:admin", nullptr},
    {"communitize_image", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"download_image",
     "role:admin or (role:member and (project_id:%(project_id)s or project_id:%(member_id)s or "
     "'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s))",
     "rule:default"},
    {"upload_image", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"delete_image_location", "role:admin", "rule:default"},
    {"get_image_location", "role:admin or (role:reader and project_id:%(project_id)s)", "rule:default"},
    {"set_image_location", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"add_member", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"delete_member", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"get_member", "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)", "rule:default"},
    {"get_members", "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)", "rule:default"},
    {"modify_member", "role:admin or (role:member and project_id:%(member_id)s)", "rule:default"},
    {"manage_image_cache", "role:admin", nullptr},
    // Glance 25's cache API rules (glance/policies/cache.py).
    {"cache_image", "role:admin", "rule:manage_image_cache"},
    {"cache_list", "role:admin", "rule:manage_image_cache"},
    {"cache_delete", "role:admin", "rule:manage_image_cache"},
    {"deactivate", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"reactivate", "role:admin or (role:member and project_id:%(project_id)s)", "rule:default"},
    {"copy_image", "role:admin", nullptr},
    // Glint's own: pointing an image at data that is not its own (another image's, or
    // anything else in a store). Glance has no such check; see docs/security.md.
    {"glint:use_foreign_location", "role:admin or role:service or service_roles:service", nullptr},
    // Glance's service-to-service locations API (image API 2.17).
    {"add_image_location", "role:service or service_roles:service", nullptr},
    {"fetch_image_location", "role:service or service_roles:service", nullptr},
    {"get_task", "rule:default", "rule:default"},
    {"get_tasks", "rule:default", "rule:default"},
    {"add_task", "rule:default", "rule:default"},
    {"modify_task", "rule:default", nullptr},
    {"tasks_api_access", "role:admin", nullptr},
    {"stores_info_detail", "role:admin", nullptr},
    // Glance 25's metadefs rules (glance/policies/metadef.py).
    {"metadef_default", "", nullptr},
    {"metadef_admin", "role:admin", nullptr},
    {"get_metadef_namespaces", "role:admin or (role:reader and project_id:%(project_id)s)", "rule:metadef_default"},
    {"get_metadef_namespace", kMetadefRead, "rule:metadef_default"},
    {"get_metadef_object", kMetadefRead, "rule:metadef_default"},
    {"get_metadef_objects", kMetadefRead, "rule:metadef_default"},
    {"list_metadef_resource_types", kMetadefRead, "rule:metadef_default"},
    {"get_metadef_resource_type", kMetadefRead, "rule:metadef_default"},
    {"get_metadef_property", kMetadefRead, "rule:metadef_default"},
    {"get_metadef_properties", kMetadefRead, "rule:metadef_default"},
    {"get_metadef_tag", kMetadefRead, "rule:metadef_default"},
    {"get_metadef_tags", kMetadefRead, "rule:metadef_default"},
    {"modify_metadef_namespace", "rule:metadef_admin", nullptr},
    {"add_metadef_namespace", "rule:metadef_admin", nullptr},
    {"delete_metadef_namespace", "rule:metadef_admin", nullptr},
    {"modify_metadef_object", "rule:metadef_admin", nullptr},
    {"add_metadef_object", "rule:metadef_admin", nullptr},
    {"delete_metadef_object", "rule:metadef_admin", nullptr},
    {"add_metadef_resource_type_association", "rule:metadef_admin", nullptr},
    {"remove_metadef_resource_type_association", "rule:metadef_admin", nullptr},
    {"modify_metadef_property", "rule:metadef_admin", nullptr},
    {"add_metadef_property", "rule:metadef_admin", nullptr},
    {"remove_metadef_property", "rule:metadef_admin", nullptr},
    {"modify_metadef_tag", "rule:metadef_admin", nullptr},
    {"add_metadef_tag", "rule:metadef_admin", nullptr},
    {"add_metadef_tags", "rule:metadef_admin", nullptr},
    {"delete_metadef_tag", "rule:metadef_admin", nullptr},
    {"delete_metadef_tags", "rule:metadef_admin", nullptr},
};

}  // namespace

struct PolicyEngine::Node {
  enum Kind { kTrue, kFalse, kAnd, kOr, kNot, kCheck } kind = kTrue;
  std::vector<std::shared_ptr<Node>> kids;
  std::string left, right;  // for checks: kind/credential (or 'literal') and match
};

namespace {

using NodeP = std::shared_ptr<PolicyEngine::Node>;

class Parser {
 public:
  explicit Parser(const std::string& s) {
    // Tokens: parentheses, words (checks may contain quotes, colons, %()s).
    size_t i = 0;
    while (i < s.size()) {
      char c = s[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (c == '(' || c == ')') {
        toks_.emplace_back(1, c);
        ++i;
      } else {
        size_t j = i;
        bool quoted = false;
        while (j < s.size()) {
          char d = s[j];
          if (d == '%' && j + 1 < s.size() && s[j + 1] == '(') {  // %(field)s is one unit
            size_t end = s.find(")s", j);
            j = end == std::string::npos ? s.size() : end + 2;
            continue;
          }
          if (d == '\'' || d == '"') quoted = !quoted;
          if (!quoted && (std::isspace(static_cast<unsigned char>(d)) || d == ')' || d == '(')) break;
          ++j;
        }
        toks_.push_back(s.substr(i, j - i));
        i = j;
      }
    }
  }
  Result<NodeP> Parse() {
    if (toks_.empty()) return std::make_shared<PolicyEngine::Node>();  // "" allows
    auto n = Or();
    if (!n.ok()) return n;
    if (pos_ != toks_.size()) return Status::InvalidArgument("unexpected '" + toks_[pos_] + "' in rule");
    return n;
  }

 private:
  // `a or b or c` is one node with three kids, not a chain: a long rule must not make a
  // deep tree (parsing, evaluating and freeing it recurse).
  Result<NodeP> Or() {
    auto first = And();
    if (!first.ok()) return first;
    auto o = std::make_shared<PolicyEngine::Node>();
    o->kind = PolicyEngine::Node::kOr;
    o->kids = {*first};
    while (pos_ < toks_.size() && AsciiLower(toks_[pos_]) == "or") {
      ++pos_;
      auto next = And();
      if (!next.ok()) return next;
      o->kids.push_back(*next);
    }
    return o->kids.size() == 1 ? o->kids[0] : o;
  }
  Result<NodeP> And() {
    auto first = Not();
    if (!first.ok()) return first;
    auto a = std::make_shared<PolicyEngine::Node>();
    a->kind = PolicyEngine::Node::kAnd;
    a->kids = {*first};
    while (pos_ < toks_.size() && AsciiLower(toks_[pos_]) == "and") {
      ++pos_;
      auto next = Not();
      if (!next.ok()) return next;
      a->kids.push_back(*next);
    }
    return a->kids.size() == 1 ? a->kids[0] : a;
  }
  // Nesting (parentheses, `not`) is what still deepens the tree: bounded, far above what
  // any real rule needs.
  Status Nest() {
    if (++depth_ > kMaxNesting) {
      return Status::InvalidArgument("rule nested deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    return Status::Ok();
  }
  Result<NodeP> Not() {
    if (pos_ < toks_.size() && AsciiLower(toks_[pos_]) == "not") {
      ++pos_;
      GLINT_RETURN_IF_ERROR(Nest());
      auto inner = Not();
      --depth_;
      if (!inner.ok()) return inner;
      auto n = std::make_shared<PolicyEngine::Node>();
      n->kind = PolicyEngine::Node::kNot;
      n->kids = {*inner};
      return n;
    }
    return Atom();
  }
  Result<NodeP> Atom() {
    if (pos_ >= toks_.size()) return Status::InvalidArgument("rule ends too early");
    std::string t = toks_[pos_++];
    if (t == "(") {
      GLINT_RETURN_IF_ERROR(Nest());
      auto n = Or();
      --depth_;
      if (!n.ok()) return n;
      if (pos_ >= toks_.size() || toks_[pos_] != ")") return Status::InvalidArgument("missing ')' in rule");
      ++pos_;
      return n;
    }
    auto n = std::make_shared<PolicyEngine::Node>();
    if (t == "@") return n;
    if (t == "!") {
      n->kind = PolicyEngine::Node::kFalse;
      return n;
    }
    size_t colon = t.find(':');
    if (colon == std::string::npos || colon == 0) return Status::InvalidArgument("bad check '" + t + "'");
    n->kind = PolicyEngine::Node::kCheck;
    n->left = t.substr(0, colon);
    n->right = t.substr(colon + 1);
    return n;
  }

  static constexpr int kMaxNesting = 64;
  std::vector<std::string> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

std::string Unquote(const std::string& s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

// Substitutes %(field)s from the target; nullopt when the field is absent.
std::optional<std::string> Substitute(const std::string& s, const PolicyTarget& t) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "%(") == 0) {
      size_t end = s.find(")s", i);
      if (end == std::string::npos) return std::nullopt;
      auto it = t.find(s.substr(i + 2, end - i - 2));
      if (it == t.end()) return std::nullopt;
      out += it->second;
      i = end + 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

}  // namespace

PolicyEngine::PolicyEngine(bool secure_rbac, std::string policy_file, const Clock& clock)
    : secure_rbac_(secure_rbac), file_(std::move(policy_file)), clock_(clock) {
  std::lock_guard<std::mutex> l(mu_);
  file_mtime_ = -2;  // force the first load
  MaybeReload();
}
PolicyEngine::~PolicyEngine() = default;

Status PolicyEngine::Check(const std::string& rule) { return Parser(rule).Parse().status(); }

Status PolicyEngine::load_status() {
  std::lock_guard<std::mutex> l(mu_);
  return load_status_;
}

void PolicyEngine::MaybeReload() {
  int64_t now = clock_.NowMicros();
  if (file_mtime_ != -2 && now - last_check_ < 1000000) return;  // stat at most once a second
  last_check_ = now;
  int64_t mtime = -1;
  struct stat st;
  if (!file_.empty() && ::stat(file_.c_str(), &st) == 0) {
    mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  if (mtime == file_mtime_) return;
  file_mtime_ = mtime;
  std::map<std::string, std::string> text;
  for (const auto& d : kDefaults) {
    std::string rule = d.check;
    if (!secure_rbac_ && d.deprecated) {
      std::string dep = d.deprecated;
      rule = (rule.empty() || dep.empty()) ? "" : "(" + rule + ") or (" + dep + ")";
    }
    text[d.name] = rule;
  }
  Status status;
  if (mtime >= 0) {
    try {
      YAML::Node doc = YAML::LoadFile(file_);  // YAML is a superset of JSON
      if (doc.IsMap()) {
        for (const auto& kv : doc) text[kv.first.as<std::string>()] = kv.second.as<std::string>();
      } else if (!doc.IsNull()) {
        status = Status::InvalidArgument("policy file " + file_ + " is not a map of rules");
      }
    } catch (const std::exception& e) {
      status = Status::InvalidArgument("cannot read policy file " + file_ + ": " + e.what());
    }
  }
  std::map<std::string, std::shared_ptr<Node>> parsed;
  for (const auto& [name, rule] : text) {
    if (!status.ok()) break;
    auto n = Parser(rule).Parse();
    if (!n.ok()) {
      status = Status::InvalidArgument("policy rule " + name + ": " + n.status().message());
      break;
    }
    parsed[name] = *n;
  }
  load_status_ = status;
  if (status.ok()) {
    rules_ = std::move(parsed);
    have_good_ = true;
    return;
  }
  // A file that does not parse (mid-edit, a typo) never replaces a policy in force: the
  // last good one stays. With none yet (a broken file at startup) everything is denied.
  if (have_good_) {
    spdlog::error("{}; keeping the policy loaded before", status.message());
  } else {
    spdlog::error("{}; denying every policy-checked action until the file is fixed", status.message());
    auto never = std::make_shared<Node>();
    never->kind = Node::kFalse;
    rules_.clear();
    rules_["default"] = never;
  }
}

bool PolicyEngine::Eval(const Node& n, const RequestContext& ctx, const PolicyTarget& t, int depth) {
  if (depth > 32) return false;  // rule:a -> rule:a loops
  switch (n.kind) {
    case Node::kTrue: return true;
    case Node::kFalse: return false;
    case Node::kAnd:
      return std::all_of(n.kids.begin(), n.kids.end(), [&](const auto& k) { return Eval(*k, ctx, t, depth); });
    case Node::kOr:
      return std::any_of(n.kids.begin(), n.kids.end(), [&](const auto& k) { return Eval(*k, ctx, t, depth); });
    case Node::kNot: return !Eval(*n.kids[0], ctx, t, depth);
    case Node::kCheck: break;
  }
  if (n.left == "rule") {
    auto it = rules_.find(n.right);
    return it != rules_.end() && Eval(*it->second, ctx, t, depth + 1);
  }
  if (n.left == "role") {
    auto want = Substitute(n.right, t);
    if (!want) return false;
    std::string w = AsciiLower(*want);
    return std::any_of(ctx.roles.begin(), ctx.roles.end(), [&](const std::string& r) { return AsciiLower(r) == w; });
  }
  auto match = Substitute(Unquote(n.right), t);
  if (!match) return false;
  if (n.left.front() == '\'' || n.left.front() == '"') return Unquote(n.left) == *match;
  std::optional<std::string> cred;
  if (n.left == "service_roles") {
    std::string w = AsciiLower(*match);
    return std::any_of(ctx.service_roles.begin(), ctx.service_roles.end(),
                       [&](const std::string& r) { return AsciiLower(r) == w; });
  }
  if (n.left == "project_id") cred = ctx.project_id;
  else if (n.left == "user_id") cred = ctx.user_id;
  else if (n.left == "is_admin") cred = ctx.is_admin ? "True" : "False";
  else if (n.left == "is_admin_project") cred = "True";
  return cred && *cred == *match;
}

bool PolicyEngine::Allowed(const std::string& action, const RequestContext& ctx, const PolicyTarget& target) {
  std::lock_guard<std::mutex> l(mu_);
  MaybeReload();
  auto it = rules_.find(action);
  if (it == rules_.end()) it = rules_.find("default");
  if (it == rules_.end()) return false;
  return Eval(*it->second, ctx, target, 0);
}

bool PolicyEngine::RuleAllows(const std::string& rule, const RequestContext& ctx, const PolicyTarget& target) {
  std::lock_guard<std::mutex> l(mu_);
  MaybeReload();
  auto it = rules_.find(rule);
  return it != rules_.end() && Eval(*it->second, ctx, target, 0);
}

Status PolicyEngine::Enforce(const std::string& action, const RequestContext& ctx, const PolicyTarget& target) {
  if (Allowed(action, ctx, target)) return Status::Ok();
  return Status::PermissionDenied("You are not authorized to complete " + action + " action.");
}

}  // namespace glint::auth
