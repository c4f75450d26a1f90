#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "auth/authenticator.h"
#include "common/digest.h"
#include "common/random.h"

namespace glint::auth {
namespace {

class AdminTokenAuthenticator final : public Authenticator {
 public:
  explicit AdminTokenAuthenticator(std::string token) : token_(std::move(token)) {}
  Result<RequestContext> Authenticate(const Credentials& c) override {
    if (c.auth_token.empty()) {
      return Status::Unauthenticated("This server could not verify that you are authorized "
                                     "to access the document you requested: no X-Auth-Token");
    }
    if (auto admin = MatchAdminToken(c.auth_token, token_)) return *admin;
    return Status::Unauthenticated("The request you have made requires authentication: "
                                   "the token is not valid");
  }

 private:
  std::string token_;
};

}  // namespace

std::optional<RequestContext> MatchAdminToken(std::string_view presented, const std::string& admin_token) {
  if (admin_token.empty() || presented.size() != admin_token.size() ||
      CRYPTO_memcmp(presented.data(), admin_token.data(), admin_token.size()) != 0) {
    return std::nullopt;
  }
  RequestContext ctx;
  ctx.is_admin = true;
  ctx.roles = {"admin"};
  return ctx;
}

std::unique_ptr<Authenticator> NewAdminTokenAuthenticator(std::string token) {
  return std::make_unique<AdminTokenAuthenticator>(std::move(token));
}

Result<std::string> LoadOrCreateAdminToken(const std::string& path) {
  std::ifstream in(path);
  if (in) {
    std::string token;
    std::getline(in, token);
    if (!token.empty()) return token;
  }
  unsigned char raw[24];
  GLINT_RETURN_IF_ERROR(SystemRandom().Fill(raw, sizeof raw));
  std::string token = HexEncode(raw, sizeof raw);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = (::fsync(fd) == 0) && ok;
  ::close(fd);
  if (!ok) return Status::IOError("cannot write " + path);
  return token;
}

}  // namespace glint::auth
