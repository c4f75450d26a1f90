// A property protection file (auth/property_protections.h) as glint-api loads it, in both
// formats, then asked about a few names, among them long ones built to make a backtracking
// expression engine run for ever (the fuzzer's -timeout catches a slow answer).
#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/property_protections.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using glint::auth::PropertyOp;
  using glint::auth::PropertyProtections;
  const std::string text(reinterpret_cast<const char*>(data), size);
  glint::auth::RequestContext ctx;
  ctx.project_id = "p";
  ctx.roles = {"member"};
  const std::string names[] = {"x_owner_a", "os_distro", "", std::string(254, 'a') + "!", std::string(255, 'x'),
                               text.substr(0, 255)};
  for (auto format : {PropertyProtections::Format::kRoles, PropertyProtections::Format::kPolicies}) {
    auto p = PropertyProtections::Parse(text, format, nullptr);
    if (!p.ok()) continue;
    for (const auto& name : names) {
      for (auto op : {PropertyOp::kCreate, PropertyOp::kRead, PropertyOp::kUpdate, PropertyOp::kDelete}) {
        (void)(*p)->Allowed(name, op, ctx);
      }
    }
  }
  return 0;
}
