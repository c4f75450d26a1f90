// A JSON request body as the image handlers read it: parsed with the size and depth
// limits, then an object is applied as a create body (each key through SetAttribute) and
// an array as a JSON patch in both dialects (ParsePatchChange, then SetAttribute).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "catalog/image_record.h"
#include "control/image_attributes.h"
#include "control/json_body.h"
#include "control/json_patch.h"
#include "fuzz/fuzz_support.h"

namespace {

using glint::control::PatchDialect;

void ApplyPatch(const nlohmann::json& ops, PatchDialect dialect, bool admin) {
  glint::catalog::ImageRecord img;
  for (const auto& op : ops) {
    auto change = glint::control::ParsePatchChange(op, dialect, admin);
    if (!change.ok()) continue;
    FUZZ_CHECK(change->op == "add" || change->op == "remove" || change->op == "replace");
    FUZZ_CHECK(!glint::control::kReadOnly.count(change->root));
    if (!admin) FUZZ_CHECK(change->root != "owner");
    if (change->op != "remove") (void)glint::control::SetAttribute(img, change->root, change->value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = glint::control::ParseJsonBody(body);
  if (!parsed.ok()) return 0;
  // Echoing a body back (errors quote values) must not throw on invalid UTF-8.
  (void)glint::control::DumpJson(*parsed);
  if (parsed->is_object()) {
    glint::catalog::ImageRecord img;
    for (const auto& [key, value] : parsed->items()) {
      if (glint::control::SetAttribute(img, key, value).ok() && key == "id") FUZZ_CHECK(img.id.size() == 36);
    }
    FUZZ_CHECK(img.min_disk >= 0 && img.min_ram >= 0);
  } else if (parsed->is_array()) {
    (void)glint::control::IsLocationsPatch(*parsed);
    ApplyPatch(*parsed, PatchDialect::kV21, true);
    ApplyPatch(*parsed, PatchDialect::kV20, false);
  }
  return 0;
}
