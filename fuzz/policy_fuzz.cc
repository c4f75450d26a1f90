// The policy rule language and policy files. The first byte picks what the rest is: a
// rule (checked, then put in force for a few actions through a JSON policy file) or a
// whole policy file (YAML or JSON). Either way a PolicyEngine loads the file and decides
// a few actions for a few callers.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "auth/policy.h"
#include "fuzz/fuzz_support.h"

namespace {

using glint::auth::PolicyEngine;
using glint::auth::PolicyTarget;
using glint::auth::RequestContext;

RequestContext Caller(std::vector<std::string> roles, std::optional<std::string> project) {
  RequestContext c;
  c.roles = std::move(roles);
  c.project_id = std::move(project);
  c.user_id = "u1";
  for (const auto& r : c.roles) c.is_admin |= (r == "admin");
  return c;
}

void Decide(bool secure_rbac, const std::string& file) {
  PolicyEngine engine(secure_rbac, file);
  static const RequestContext kCallers[] = {Caller({"admin"}, std::nullopt), Caller({"member", "reader"}, "p1"),
                                            Caller({"reader"}, "p2"), Caller({}, std::nullopt)};
  const PolicyTarget target = {{"project_id", "p1"}, {"owner", "p1"}, {"visibility", "public"}, {"member_id", "p2"}};
  for (const char* action : {"get_image", "add_image", "modify_image", "default", "no_such_action"}) {
    for (const auto& caller : kCallers) (void)engine.Allowed(action, caller, target);
  }
  (void)engine.load_status();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A broken file is logged on every load; the fuzzer would spend its time printing.
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static glint::fuzz::ScratchFile file("policy.yaml");
  if (size == 0) return 0;
  const bool as_rule = data[0] & 1, secure_rbac = data[0] & 2;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!as_rule) {
    Decide(secure_rbac, file.Write(text));
    return 0;
  }
  if (!PolicyEngine::Check(text).ok()) return 0;
  nlohmann::json rules = {{"get_image", text}, {"modify_image", "rule:get_image or " + text}, {"default", text}};
  Decide(secure_rbac, file.Write(rules.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  return 0;
}
