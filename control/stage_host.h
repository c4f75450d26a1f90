// glance-direct across API nodes without a shared staging file system, as Glance does it:
// the node that stages an image's data records its own URL (`worker_self_reference_url`,
// else `public_endpoint`) in the hidden property `os_glance_stage_host`; an import request
// that lands on another node is forwarded there, with the caller's token, and the answer
// of the staging node is the answer. A delete that lands on another node is forwarded
// too, so that the staging node removes the staged data with the image. The property is
// dropped once the staged data is gone (imported, or refused and removed); it stays while
// the import runs, so that an import a crash interrupted (back to `uploading`) still finds
// the node holding its data.
#pragma once

#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "common/status.h"
#include "control/api_context.h"
#include "control/http_types.h"

namespace glint::control {

inline constexpr const char* kStageHostProperty = "os_glance_stage_host";

// This node's URL for other nodes; "" when neither option is set (nothing is recorded).
std::string SelfReferenceUrl(const Config& config);

// Records this node as the one holding image `id`'s staged data (optimistic retries).
Status RecordStageHost(ApiContext& api, const std::string& id);

// Drops the record of where image `id` was staged (nothing to do when there is none).
Status ForgetStageHost(ApiContext& api, const std::string& id);

// Marks a forwarded request. A request carrying it is never forwarded again, so a stage
// host that does not recognise itself (its URL recorded differently, or a URL that leads
// back through the load balancer) cannot bounce a request between nodes: the node that
// receives it answers on its own (a delete deletes; an import without the staged data
// fails). A client sending it gains nothing more than a stage host that is down gives.
// (X-Glint-Forwarded-From; lower case as HttpRequest::Header takes it, names being
// case-insensitive).
inline constexpr const char* kForwardedHeader = "x-glint-forwarded-from";

// The node to forward `req` (a glance-direct import or a delete of `img`) to, if the
// image was staged elsewhere and `req` is not itself a forwarded request.
std::optional<std::string> ForeignStageHost(const Config& config, const catalog::ImageRecord& img,
                                            const HttpRequest& req);

// Replays `req` (an import or a delete) on `host` with the caller's token, marked as forwarded
// by `self` (this node's URL), and returns its answer; 503 when the staging node cannot be reached.
Result<HttpResponse> ForwardToStageHost(const std::string& host, const std::string& self, const HttpRequest& req);

}  // namespace glint::control
