// A request target as the server receives it: ParseTarget splits and decodes the path and
// query, then the image list's query parser reads the parameters as GET /v2/images does.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/http_types.h"
#include "control/list_query.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  std::string path;
  glint::control::QueryParams query;
  glint::control::ParseTarget(target, &path, &query);
  // Decoding only ever shrinks: %XX is three bytes for one.
  FUZZ_CHECK(path.size() <= target.size());

  constexpr int kDefaultLimit = 25, kMaxLimit = 1000;
  auto list = glint::control::ParseListQuery(query, kDefaultLimit, kMaxLimit);
  if (list.ok()) {
    FUZZ_CHECK(list->limit >= 0 && list->limit <= kMaxLimit);
    if (list->marker) FUZZ_CHECK(list->marker->size() == 36);
  }
  return 0;
}
