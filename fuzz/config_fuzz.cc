// glint-api's INI config file, written from the input and read as --config-file reads it,
// then completed with the derived defaults.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/config.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static glint::fuzz::ScratchFile file("glint-api.conf");
  glint::control::Config config;
  auto status = glint::control::LoadConfigFile(file.Write({reinterpret_cast<const char*>(data), size}), &config);
  if (!status.ok()) return 0;
  glint::control::FinalizeConfig(&config);
  FUZZ_CHECK(!config.connection.empty() && !config.node_id.empty());
  for (const auto& b : config.backends) FUZZ_CHECK(b.type == "file" || b.type == "rbd" || b.type == "http");
  return 0;
}
