// Policy: oslo.policy's rule language and Glance 25's default rules.
//
// A rule is a boolean expression over checks: `role:<name>` (case-insensitive), `rule:<name>`
// (another rule), `<credential>:<value>` where the value is a literal ('True', 'text') or a
// target field `%(field)s` (e.g. `project_id:%(project_id)s`), `'<literal>':%(field)s`,
// `@` (always), `!` (never), combined with `and`, `or`, `not` and parentheses; the empty
// rule allows. Defaults are Glance's; with `enforce_secure_rbac = false` (Glance's legacy
// mode) a rule that has a deprecated form allows what either form allows. A policy file
// (YAML or JSON, a flat map of rule name to check string) overrides rules and is re-read
// when it changes, without restart. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "common/clock.h"
#include "common/status.h"

namespace glint::auth {

using PolicyTarget = std::map<std::string, std::string>;

class PolicyEngine {
 public:
  // `clock` paces the file checks (at most one stat a second).
  PolicyEngine(bool secure_rbac, std::string policy_file, const Clock& clock = SystemClock());
  ~PolicyEngine();
  // Whether `ctx` may do `action` on `target`. Unknown actions fall back to rule:default.
  bool Allowed(const std::string& action, const RequestContext& ctx, const PolicyTarget& target);
  // Whether the rule named `rule` allows: false when no such rule exists (oslo.policy's
  // `rule:<name>` check; the property protections' policies format uses it).
  bool RuleAllows(const std::string& rule, const RequestContext& ctx, const PolicyTarget& target);
  // PermissionDenied with Glance's wording when not allowed.
  Status Enforce(const std::string& action, const RequestContext& ctx, const PolicyTarget& target);
  // Parses a rule (for validation of files and tests); InvalidArgument on syntax errors.
  static Status Check(const std::string& rule);
  Status load_status();

  struct Node;  // a parsed rule; defined in policy.cc

 private:
  void MaybeReload();
  bool Eval(const Node& n, const RequestContext& ctx, const PolicyTarget& t, int depth);

  bool secure_rbac_;
  std::string file_;
  const Clock& clock_;
  std::mutex mu_;
  int64_t file_mtime_ = -1;
  int64_t last_check_ = 0;
  Status load_status_;
  bool have_good_ = false;  // a policy that parsed is in force
  std::map<std::string, std::shared_ptr<Node>> rules_;
};

}  // namespace glint::auth
