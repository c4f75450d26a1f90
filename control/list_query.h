// The image list's query string (GET /v2/images): limit and marker, Glance's two sort
// syntaxes (sort_key/sort_dir, and sort=key:dir,...), and its filters (exact and `in:`
// values, time comparisons, sizes, tags, member status, custom properties), turned into a
// catalog::ListQuery. Unknown base keys are ignored as Glance ignores them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"
#include "common/status.h"

namespace glint::control {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// InvalidArgument with Glance's wording for anything malformed. The viewer is left for
// the caller to fill in.
Result<catalog::ListQuery> ParseListQuery(const QueryParams& params, int default_limit, int max_limit);

// Splits "in:a,b,\"c,d\"" values the way Glance's split_filter_value_for_quotes does.
std::vector<std::string> SplitInValues(const std::string& s);

}  // namespace glint::control
