// The pieces glint-api assembles at startup from its Config: the private data directory,
// the stores, the bootstrap admin token and the authenticator. Called once, from main,
// before serving; every failure is a Status whose message says what to fix.
#pragma once

#include <memory>
#include <string>

#include "auth/authenticator.h"
#include "auth/identity.h"
#include "common/status.h"
#include "control/config.h"
#include "store/store_set.h"

namespace glint::control {

// Creates the data directory private to this user (0700) and tightens key material a
// previous version left readable to others (the SQLite catalog with its token keys, the
// admin token file), with a warning naming each file.
Status PrepareDataDir(const Config& config);
// The configured stores: enabled_backends (multi-store), else default_store alone.
Result<std::unique_ptr<store::StoreSet>> OpenStores(const Config& config);
// The bootstrap admin token, or "" when it is not enabled. `from_file` is
// --admin-token-file's path ("" when not given).
Result<std::string> BootstrapAdminToken(const Config& config, const std::string& from_file);
// The external Keystone's authenticator ([paste_deploy] flavor = keystone), else the
// built-in identity's.
Result<std::unique_ptr<auth::Authenticator>> NewAuthenticator(const Config& config, auth::IdentityStore& identity,
                                                              auth::TokenService& tokens,
                                                              const std::string& admin_token);
bool UsesExternalKeystone(const Config& config);

}  // namespace glint::control
