// The `glint` client's view of the image API: one authenticated connection, JSON calls
// that end the program with a one-line message on any error, and streaming upload and
// download with an optional progress bar.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "client/http_client.h"

namespace glint::cli {

using nlohmann::json;

struct Globals {
  std::string url;
  std::string token;
};

[[noreturn]] void Die(const std::string& msg);
// Shows an error answer in one line: "HTTP 404: No image found with ID ...".
[[noreturn]] void DieHttp(const client::ClientResponse& r);

class Api {
 public:
  explicit Api(const Globals& g);

  json Call(const std::string& method, const std::string& path, const json* body = nullptr,
            const std::string& content_type = "application/json", int* status = nullptr,
            const client::HeaderList& extra = {});
  // Sends `file` ("-" for standard input) as the body of PUT /v2/images/{id}/{target}
  // ("file" to upload, "stage" for interoperable import).
  void SendData(const std::string& id, const std::string& file, bool progress,
                const std::string& target = "file", const std::string& store = "");
  void Download(const std::string& id, const std::string& file, bool progress);

 private:
  client::HeaderList Auth() const { return {{"X-Auth-Token", g_.token}}; }
  const Globals& g_;
  std::unique_ptr<client::HttpClient> client_;
  std::string prefix_;
};

}  // namespace glint::cli
