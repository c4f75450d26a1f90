// WebDownload: the background half of a web-download import. After POST .../import
// answered 202 (the image `importing` under a catalog lock, a task row recorded), a pool
// thread fetches the URI through client/'s outbound filter (resolved once, pinned,
// redirects re-checked), streams the body through the shared CopySink (format inspector,
// md5, sha512, size cap) into the target store, and activates the image. Any failure
// aborts the partial object and puts the image back to `queued`; a crash is recovered by
// the same lock expiry and store sweep as uploads.
#pragma once

#include "format/verdict.h"

#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "client/outbound_fetch.h"
#include "control/api_context.h"
#include "control/import_jobs.h"

namespace glint::control {

// The outbound options glint-api fetches with, from its configuration.
client::OutboundOptions OutboundOptionsOf(const Config& config);

// The request-time check Glance makes: InvalidArgument "URI for web-download does not pass
// filtering" (with the reason) when the filter refuses `uri` (a name that does not resolve
// passes: the task fails later, as in Glance).
Status CheckWebDownloadUri(const Config& config, const std::string& uri);

void RunWebDownload(ApiContext& api, const catalog::UploadLock& lock, const std::string& task_id,
                    store::Backend& target, const ImportPlan& plan, const std::string& uri);

}  // namespace glint::control
