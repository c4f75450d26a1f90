#include "control/list_query.h"

#include <algorithm>
#include <map>

#include "common/bool_word.h"
#include "common/ids.h"
#include "control/image_attributes.h"

namespace glint::control {
namespace {

using catalog::Filter;

std::string Join(const std::set<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// A non-negative decimal integer that fits 63 bits, all of `v`.
std::optional<int64_t> ParseCount(const std::string& v) {
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(v);
}

// "op:value" -> (op, value); no colon, or an ISO time (which has colons), means "eq".
std::pair<std::string, std::string> SplitFilterOp(const std::string& v) {
  size_t colon = v.find(':');
  if (colon == std::string::npos || ParseIso(v)) return {"eq", v};
  return {v.substr(0, colon), v.substr(colon + 1)};
}

// Bounds on one listing's filters (Glance has none; a request at either bound is far from
// any client's use, and the query a catalog engine is asked stays within its limits).
constexpr size_t kMaxFilters = 100;
constexpr size_t kMaxInValues = 1000;

class ListQueryParser {
 public:
  ListQueryParser(int default_limit, int max_limit) : max_limit_(max_limit) { q_.limit = default_limit; }

  Status Add(const std::string& k, const std::string& v) {
    if (k == "limit") return Limit(v);
    if (k == "marker") {
      if (!IsUuid(v)) return Status::InvalidArgument("Invalid marker. Image " + v + " could not be found.");
      q_.marker = CanonicalUuid(v);
      return Status::Ok();
    }
    if (k == "sort_key" || k == "sort_dir" || k == "sort") return Sort(k, v);
    if (k == "tag") {
      q_.tags.push_back(v);
      return Status::Ok();
    }
    if (k == "visibility" || k == "os_hidden" || k == "member_status") return Scope(k, v);
    return Filter(k, v);
  }

  Result<catalog::ListQuery> Finish() {
    // Each filter is one more condition of one query, and SQLite refuses a query nested
    // deeper than 1,000 (a request with 1,200 tags was a 500): a clear 400 well before.
    if (q_.tags.size() + q_.properties.size() + q_.filters.size() > kMaxFilters) {
      return Status::InvalidArgument("Too many filters: at most " + std::to_string(kMaxFilters) +
                                     " tag, property and field filters in one request");
    }
    if (have_sort_ && (!sort_keys_.empty() || !sort_dirs_.empty())) {
      return Status::InvalidArgument("The 'sort' parameter cannot be combined with sort_key or sort_dir");
    }
    if (!have_sort_) {
      if (sort_dirs_.size() > 1 && sort_dirs_.size() != sort_keys_.size()) {
        return Status::InvalidArgument("Number of sort dirs does not match the number of sort keys");
      }
      for (size_t i = 0; i < sort_keys_.size(); ++i) {
        std::string dir = sort_dirs_.empty() ? "desc" : (sort_dirs_.size() == 1 ? sort_dirs_[0] : sort_dirs_[i]);
        q_.sort.push_back({sort_keys_[i], dir == "asc"});
      }
      if (sort_keys_.empty() && !sort_dirs_.empty()) q_.sort.push_back({"created_at", sort_dirs_[0] == "asc"});
    }
    return q_;
  }

 private:
  Status Limit(const std::string& v) {
    if (!v.empty() && v[0] == '-' && ParseCount(v.substr(1))) return Status::InvalidArgument("limit param must be positive");
    bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) return Status::InvalidArgument("limit param must be an integer");
    auto n = ParseCount(v);  // more digits than 63 bits hold: over any maximum anyway
    q_.limit = static_cast<int>(std::min<int64_t>(n.value_or(max_limit_), max_limit_));
    return Status::Ok();
  }

  Status Sort(const std::string& k, const std::string& v) {
    if (k == "sort_key") {
      if (!kSortKeys.count(v)) {
        return Status::InvalidArgument("Invalid sort key: " + v + ". It should be one of the following: " +
                                       Join(kSortKeys, ", ") + ".");
      }
      sort_keys_.push_back(v);
    } else if (k == "sort_dir") {
      if (v != "asc" && v != "desc") return Status::InvalidArgument("Invalid sort direction: " + v);
      sort_dirs_.push_back(v);
    } else {
      have_sort_ = true;
      for (const auto& item : SplitInValues(v)) {
        std::string key = item, dir = "desc";
        size_t colon = item.find(':');
        if (colon != std::string::npos) {
          key = item.substr(0, colon);
          dir = item.substr(colon + 1);
        }
        if (!kSortKeys.count(key)) return Status::InvalidArgument("Invalid sort key: " + key);
        if (dir != "asc" && dir != "desc") return Status::InvalidArgument("Invalid sort direction: " + dir);
        q_.sort.push_back({key, dir == "asc"});
      }
    }
    return Status::Ok();
  }

  Status Scope(const std::string& k, const std::string& v) {
    if (k == "visibility") {
      if (v != "all" && !kVisibilities.count(v)) return Status::InvalidArgument("Invalid visibility value: " + v);
      q_.visibility = v;
    } else if (k == "os_hidden") {
      auto b = ParseBoolWord(v);
      if (!b) return Status::InvalidArgument("Invalid value for os_hidden: " + v);
      q_.os_hidden = *b;
    } else {
      if (v != "pending" && v != "accepted" && v != "rejected" && v != "all") {
        return Status::InvalidArgument("Invalid status value: " + v);
      }
      q_.member_status = v;
    }
    return Status::Ok();
  }

  Status TimeFilter(const std::string& k, const std::string& v) {
    auto [op, value] = SplitFilterOp(v);
    static const std::map<std::string, Filter::Op> kTimeOps = {
        {"eq", Filter::Op::kEq}, {"neq", Filter::Op::kNeq}, {"gt", Filter::Op::kGt},
        {"gte", Filter::Op::kGte}, {"lt", Filter::Op::kLt}, {"lte", Filter::Op::kLte}};
    auto it = kTimeOps.find(op);
    if (it == kTimeOps.end()) {
      return Status::InvalidArgument("Invalid operator '" + op + "' for " + k + ": use eq, neq, gt, gte, lt or lte");
    }
    if (!ParseIso(value)) {
      return Status::InvalidArgument("Bad \"" + k + "\" query filter format. Use ISO 8601 DateTime notation.");
    }
    q_.filters.push_back({k, it->second, {value}});
    return Status::Ok();
  }

  Status Filter(const std::string& k, const std::string& v) {
    if (k == "size_min" || k == "size_max") {
      auto n = ParseCount(v);
      if (!n) return Status::InvalidArgument("Invalid value for " + k + ": " + v);
      (k == "size_min" ? q_.size_min : q_.size_max) = *n;
    } else if (k == "protected") {
      if (v != "true" && v != "false") {
        return Status::InvalidArgument("Invalid value '" + v + "' for 'protected' filter. "
                                       "Valid values are 'true' or 'false'.");
      }
      q_.filters.push_back({"protected", Filter::Op::kEq, {v == "true" ? "1" : "0"}});
    } else if (k == "changes-since") {
      return Status::InvalidArgument("The \"changes-since\" filter is no longer available on v2.");
    } else if (k == "created_at" || k == "updated_at") {
      return TimeFilter(k, v);
    } else if (k == "name" || k == "id" || k == "status" || k == "container_format" || k == "disk_format") {
      auto [op, value] = SplitFilterOp(v);
      if (op == "in") {
        auto values = SplitInValues(value);
        if (values.size() > kMaxInValues) {
          return Status::InvalidArgument("Too many values for " + k + ": at most " + std::to_string(kMaxInValues));
        }
        q_.filters.push_back({k, Filter::Op::kIn, std::move(values)});
      } else if (op == "eq") {
        q_.filters.push_back({k, Filter::Op::kEq, {value}});
      } else {
        return Status::InvalidArgument("Unable to filter by unknown operator '" + op + "'.");
      }
    } else if (k == "min_ram" || k == "min_disk" || k == "size" || k == "virtual_size") {
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
        return Status::InvalidArgument("Invalid value for " + k + ": " + v);
      }
      q_.filters.push_back({k, Filter::Op::kEq, {v}});
    } else if (k == "owner" || k == "checksum" || k == "os_hash_value") {
      q_.filters.push_back({k, Filter::Op::kEq, {v}});
    } else if (!kBase.count(k)) {  // base keys that are not filters (self, file, ...) are ignored
      q_.properties.emplace_back(k, v);
    }
    return Status::Ok();
  }

  catalog::ListQuery q_;
  int max_limit_;
  std::vector<std::string> sort_keys_, sort_dirs_;
  bool have_sort_ = false;
};

}  // namespace

std::vector<std::string> SplitInValues(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : s) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

Result<catalog::ListQuery> ParseListQuery(const QueryParams& params, int default_limit, int max_limit) {
  ListQueryParser parser(default_limit, max_limit);
  for (const auto& [k, v] : params) GLINT_RETURN_IF_ERROR(parser.Add(k, v));
  return parser.Finish();
}

}  // namespace glint::control
