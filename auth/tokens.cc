// TokenService (AES-256-GCM tokens with database-held keys) and the identity
// authenticator (admin token or issued tokens, with a short validation cache).
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "auth/identity.h"
#include "common/digest.h"
#include "common/ids.h"

namespace glint::auth {
namespace {

using nlohmann::json;
const std::string kPrefix = "gl1";

std::string B64Url(const std::string& raw) {
  std::string s = Base64Encode(raw);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

std::optional<std::string> UnB64Url(std::string s) {
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
  }
  while (s.size() % 4) s.push_back('=');
  std::string out(s.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  for (size_t i = s.size(); i > 0 && s[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Status NotAuthenticated() { return Status::Unauthenticated("The request you have made requires authentication."); }

}  // namespace

Result<std::string> TokenService::KeyFor(int64_t id, bool reload) {
  std::lock_guard<std::mutex> l(keys_mu_);
  auto& cache = keys_;
  if (reload || cache.empty() || (id >= 0 && !cache.count(id))) {
    auto keys = store_.TokenKeys();
    if (!keys.ok()) return keys.status();
    if (keys->empty()) {
      unsigned char raw[32];
      GLINT_RETURN_IF_ERROR(random_.Fill(raw, sizeof raw));
      GLINT_RETURN_IF_ERROR(store_.AddTokenKey(HexEncode(raw, sizeof raw), clock_.NowMicros()));
      keys = store_.TokenKeys();
      if (!keys.ok()) return keys.status();
    }
    cache.clear();
    for (const auto& [kid, secret] : *keys) cache[kid] = Unhex(secret);
  }
  if (id < 0) return std::to_string(cache.rbegin()->first) + ":" + cache.rbegin()->second;
  auto it = cache.find(id);
  if (it == cache.end()) return NotAuthenticated();
  return it->second;
}

Result<std::string> TokenService::Issue(const TokenInfo& info) {
  auto newest = KeyFor(-1, false);
  if (!newest.ok()) return newest.status();
  size_t colon = newest->find(':');
  int64_t key_id = std::stoll(newest->substr(0, colon));
  std::string key = newest->substr(colon + 1);
  json payload = {{"u", info.user_id}, {"i", info.issued_at}, {"e", info.expires_at},
                  {"a", info.audit_id}, {"m", info.methods}};
  if (info.project_id) payload["p"] = *info.project_id;
  std::string plain = payload.dump();
  unsigned char nonce[12];
  GLINT_RETURN_IF_ERROR(random_.Fill(nonce, sizeof nonce));
  std::string header(4, '\0');
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>((key_id >> (24 - 8 * i)) & 0xff);
  std::string cipher(plain.size(), '\0');
  unsigned char tag[16];
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                               reinterpret_cast<const unsigned char*>(key.data()), nonce) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(header.data()), 4) == 1 &&
            EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(cipher.data()), &len,
                              reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, nullptr, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof tag, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return Status::Internal("token encryption failed");
  return kPrefix + B64Url(header + std::string(reinterpret_cast<char*>(nonce), sizeof nonce) + cipher +
                          std::string(reinterpret_cast<char*>(tag), sizeof tag));
}

Result<TokenInfo> TokenService::Validate(const std::string& token) {
  if (token.rfind(kPrefix, 0) != 0) return NotAuthenticated();
  auto raw = UnB64Url(token.substr(kPrefix.size()));
  if (!raw || raw->size() < 4 + 12 + 16 + 2) return NotAuthenticated();
  int64_t key_id = 0;
  for (int i = 0; i < 4; ++i) key_id = (key_id << 8) | static_cast<unsigned char>((*raw)[i]);
  auto key = KeyFor(key_id, false);
  if (!key.ok()) return key.status();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(raw->data());
  size_t cipher_len = raw->size() - 4 - 12 - 16;
  std::string plain(cipher_len, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                               reinterpret_cast<const unsigned char*>(key->data()), p + 4) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &len, p, 4) == 1 &&
            EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len, p + 16,
                              static_cast<int>(cipher_len)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                                const_cast<unsigned char*>(p + 16 + cipher_len)) == 1 &&
            EVP_DecryptFinal_ex(ctx, nullptr, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return NotAuthenticated();  // forged, corrupted, or under a pruned key
  json j = json::parse(plain, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return NotAuthenticated();
  TokenInfo info;
  // Only a key holder can write a payload, but one of another shape (another version's)
  // is refused like a forged token, not thrown at the caller's worker thread. Times must
  // be integers, as Issue writes them: converting an out-of-range float is undefined.
  const auto time_at = [&j](const char* key, int64_t* out) {
    if (!j.contains(key)) return true;
    if (!j[key].is_number_integer()) return false;
    *out = j[key].get<int64_t>();
    return true;
  };
  try {
    info.user_id = j.value("u", "");
    if (j.contains("p")) info.project_id = j["p"].get<std::string>();
    if (!time_at("i", &info.issued_at) || !time_at("e", &info.expires_at)) return NotAuthenticated();
    info.audit_id = j.value("a", "");
    if (j.contains("m")) info.methods = j["m"].get<std::vector<std::string>>();
  } catch (const json::exception&) {
    return NotAuthenticated();
  }
  if (info.expires_at <= clock_.NowMicros()) return Status::Unauthenticated("The token has expired.");
  auto revoked = store_.IsRevoked(info.audit_id);
  if (!revoked.ok()) return revoked.status();
  if (*revoked) return Status::Unauthenticated("The token has been revoked.");
  return info;
}

Status TokenService::Revoke(const std::string& token) {
  auto info = Validate(token);
  if (!info.ok()) return Status::NotFound("Could not find token");
  return store_.Revoke(info->audit_id, info->expires_at);
}

namespace {

class IdentityAuthenticator final : public Authenticator {
 public:
  IdentityAuthenticator(IdentityStore& store, TokenService& tokens, std::string admin_token)
      : store_(store), tokens_(tokens), admin_token_(std::move(admin_token)) {}

  Result<RequestContext> Authenticate(const Credentials& c) override {
    if (c.auth_token.empty()) {
      return Status::Unauthenticated("This server could not verify that you are authorized "
                                     "to access the document you requested: no X-Auth-Token");
    }
    if (auto admin = MatchAdminToken(c.auth_token, admin_token_)) return *admin;
    auto ctx = ContextOf(std::string(c.auth_token));
    if (!ctx.ok() || c.service_token.empty()) return ctx;
    auto service = ContextOf(std::string(c.service_token));
    if (!service.ok()) return Status::Unauthenticated("The service token is not valid.");
    RequestContext with_service = *ctx;
    with_service.service_roles = service->roles;
    return with_service;
  }

 private:
  // The context of a valid token: its user, project and roles (cached briefly).
  Result<RequestContext> ContextOf(const std::string& token) {
    int64_t now = tokens_.clock().NowMicros();
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = cache_.find(token);
      if (it != cache_.end() && it->second.first > now) return it->second.second;
    }
    auto info = tokens_.Validate(token);
    if (!info.ok()) return info.status();
    RequestContext ctx;
    ctx.user_id = info->user_id;
    ctx.project_id = info->project_id;
    auto user = store_.GetUser(info->user_id);
    if (!user.ok() || !user->enabled) return Status::Unauthenticated("The token's user is not enabled.");
    if (info->project_id) {
      auto roles = store_.RolesOf(info->user_id, *info->project_id);
      if (!roles.ok()) return roles.status();
      for (const auto& r : *roles) {
        std::string lower = r.name;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        ctx.roles.push_back(lower);
        if (lower == "admin") ctx.is_admin = true;
      }
    }
    std::lock_guard<std::mutex> l(mu_);
    if (cache_.size() > 10000) cache_.clear();
    // A short cache: role changes and revocations on any node apply within seconds.
    cache_[token] = {std::min<int64_t>(now + int64_t{5000000}, info->expires_at), ctx};
    return ctx;
  }

 IdentityStore& store_;
  TokenService& tokens_;
  std::string admin_token_;
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<int64_t, RequestContext>> cache_;
};

}  // namespace

std::unique_ptr<Authenticator> NewIdentityAuthenticator(IdentityStore& store, TokenService& tokens,
                                                        std::string admin_token) {
  return std::make_unique<IdentityAuthenticator>(store, tokens, std::move(admin_token));
}

}  // namespace glint::auth
