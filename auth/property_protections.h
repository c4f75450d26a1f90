// PropertyProtections: Glance's property_protection_file. Each section of the file is a
// regular expression over custom property names; the first section (in file order) whose
// expression is found in a name governs it, with one entry per operation (create, read,
// update, delete). With the `roles` format an entry lists roles (`@` anyone, `!` no one,
// empty: no one); with `policies` it names one policy rule. A name no section matches may
// not be touched at all, as in Glance. Immutable once loaded: thread-safe.
//
// The expressions run on RE2, in time linear in the name whatever the expression: with a
// backtracking engine (Python's re in Glance, std::regex) an expression such as ^(a+)+$
// took exponential time on a 30-character name a user chose, holding a worker thread.
// RE2 has no backreferences or lookaround; a file using them is refused at load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "auth/policy.h"
#include "common/status.h"

namespace re2 {
class RE2;
}

namespace glint::auth {

enum class PropertyOp { kCreate, kRead, kUpdate, kDelete };

class PropertyProtections {
 public:
  enum class Format { kRoles, kPolicies };

  // Parses the file's text. InvalidArgument (naming the section) for what Glance refuses to
  // start with: an expression that does not compile, a missing operation, `@` with `!`, or
  // several policies in one entry. `policy` evaluates the policies format; it must outlive
  // this object.
  static Result<std::unique_ptr<PropertyProtections>> Parse(const std::string& text, Format format,
                                                             PolicyEngine* policy);
  static Result<std::unique_ptr<PropertyProtections>> Load(const std::string& path, Format format,
                                                           PolicyEngine* policy);

  // Whether `ctx` (its roles and service roles) may do `op` on the custom property `name`.
  bool Allowed(const std::string& name, PropertyOp op, const RequestContext& ctx) const;

 private:
  struct Rule {
    std::string expression;
    std::shared_ptr<const re2::RE2> regex;
    std::vector<std::string> entries[4];  // by PropertyOp: lowercased roles, or one policy
  };
  PropertyProtections(Format format, PolicyEngine* policy) : format_(format), policy_(policy) {}
  bool EntryAllows(const std::vector<std::string>& entry, const RequestContext& ctx) const;

  Format format_;
  PolicyEngine* policy_;
  std::vector<Rule> rules_;
};

}  // namespace glint::auth
