// ListImages: the images a viewer may see, filtered, in a total sort order, one page
// after a marker (keyset pagination on the marker row's sort-key values), with the
// page's properties, tags and locations loaded in one query per child table.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "catalog/sql_catalog.h"
#include "catalog/image_rows.h"
#include "common/ids.h"

namespace glint::catalog {
namespace {

using sql::Db;
using sql::SqlValue;

// Columns a listing may filter or sort on; anything else never reaches SQL text.
const std::set<std::string> kFilterColumns = {
    "id",          "name",     "status",        "visibility",   "owner",
    "disk_format", "container_format", "size", "virtual_size", "checksum",
    "os_hash_value", "min_disk", "min_ram",     "protected",    "created_at",
    "updated_at"};
const std::set<std::string> kIntColumns = {"size",     "virtual_size", "min_disk", "min_ram",
                                           "protected", "created_at",  "updated_at"};

// Conditions joined by AND, and their arguments in placeholder order: every Add* below
// appends SQL text and the values for its placeholders together, so they cannot drift.
struct WhereClause {
  std::string sql = "deleted = 0";
  std::vector<SqlValue> args;
};

// Which images the viewer may see at all (Glance's _select_images_query). A shared image's
// membership is probed per image (the membership's primary key, image_id and member), not
// collected: `id IN (SELECT ...)` and even `EXISTS` made both engines read all of the
// project's memberships on every listing (MariaDB materializes an EXISTS too), however few
// images the page needed. A scalar subquery with LIMIT 1 is evaluated per image on both
// (100,000 images, 5,000 memberships: a member's first page 4.3 -> 0.3 ms on MariaDB).
void AddViewerScope(const ListQuery& q, WhereClause& where) {
  const Viewer& v = q.viewer;
  if (v.is_admin) return;
  where.sql += " AND (visibility IN ('public', 'community')";
  if (v.project_id) {
    where.sql += " OR owner = ? OR (visibility = 'shared' AND (SELECT 1 FROM image_members im "
                 "WHERE im.image_id = images.id AND im.member = ?";
    where.args.emplace_back(*v.project_id);
    where.args.emplace_back(*v.project_id);
    if (q.member_status != "all") {
      where.sql += " AND im.status = ?";
      where.args.emplace_back(q.member_status);
    }
    where.sql += " LIMIT 1) IS NOT NULL)";
  }
  where.sql += ")";
}

// An explicit visibility ("all": any); by default others' community images are left out.
void AddVisibility(const ListQuery& q, WhereClause& where) {
  const Viewer& v = q.viewer;
  if (q.visibility) {
    if (*q.visibility != "all") {
      where.sql += " AND visibility = ?";
      where.args.emplace_back(*q.visibility);
    }
  } else if (!v.project_id) {
    where.sql += " AND visibility <> 'community'";
  } else {
    where.sql += " AND (visibility <> 'community' OR owner = ?)";
    where.args.emplace_back(*v.project_id);
  }
}

void AddHiddenAndSize(const ListQuery& q, WhereClause& where) {
  where.sql += " AND os_hidden = ?";
  where.args.emplace_back(int64_t{q.os_hidden ? 1 : 0});
  if (q.size_min) {
    where.sql += " AND size >= ?";
    where.args.emplace_back(*q.size_min);
  }
  if (q.size_max) {
    where.sql += " AND size <= ?";
    where.args.emplace_back(*q.size_max);
  }
}

// A filter value typed as its column: timestamps from ISO 8601, other integer columns
// from decimal text, everything else as text.
Result<SqlValue> FilterValue(const std::string& field, const std::string& s) {
  if (!kIntColumns.count(field)) return SqlValue(s);
  if (field == "created_at" || field == "updated_at") {
    auto t = ParseIso(s);
    if (!t) return Status::InvalidArgument("Invalid time format: " + s);
    return SqlValue(*t);
  }
  try {
    size_t pos = 0;
    int64_t n = std::stoll(s, &pos);
    if (pos != s.size()) throw std::invalid_argument(s);
    return SqlValue(n);
  } catch (const std::exception&) {
    return Status::InvalidArgument("Invalid value for " + field + ": " + s);
  }
}

// One filter on a whitelisted base column.
Status AddFilter(const Filter& f, WhereClause& where) {
  if (!kFilterColumns.count(f.field)) {
    return Status::InvalidArgument("cannot filter on " + f.field);
  }
  if (f.op == Filter::Op::kIn) {
    where.sql += " AND " + f.field + " IN (";
    for (size_t i = 0; i < f.values.size(); ++i) {
      auto val = FilterValue(f.field, f.values[i]);
      if (!val.ok()) return val.status();
      where.sql += i ? ",?" : "?";
      where.args.push_back(*val);
    }
    where.sql += ")";
    return Status::Ok();
  }
  static const std::map<Filter::Op, const char*> kOps = {
      {Filter::Op::kEq, "="}, {Filter::Op::kNeq, "<>"}, {Filter::Op::kGt, ">"},
      {Filter::Op::kGte, ">="}, {Filter::Op::kLt, "<"}, {Filter::Op::kLte, "<="}};
  if (f.values.empty()) return Status::InvalidArgument("empty filter on " + f.field);
  auto val = FilterValue(f.field, f.values[0]);
  if (!val.ok()) return val.status();
  where.sql += " AND " + f.field + " " + kOps.at(f.op) + " ?";
  where.args.push_back(*val);
  return Status::Ok();
}

// Every tag must be present and every custom property equal: one condition on a child
// table per filter.
struct ChildFilter {
  std::string table;      // image_tags or image_properties, aliased c
  std::string condition;  // on c's columns
  std::vector<SqlValue> args;
};

std::vector<ChildFilter> ChildFilters(const ListQuery& q) {
  std::vector<ChildFilter> out;
  for (const auto& t : q.tags) out.push_back({"image_tags", "c.value = ?", {SqlValue(t)}});
  for (const auto& [k, val] : q.properties) {
    out.push_back({"image_properties", "c.name = ? AND c.value = ?", {SqlValue(k), SqlValue(val)}});
  }
  return out;
}

// As semi-joins, which both engines plan well for a selective filter: the matching ids
// first, then their images.
void AddSemiJoins(const std::vector<ChildFilter>& filters, WhereClause& where) {
  for (const auto& f : filters) {
    where.sql += " AND id IN (SELECT c.image_id FROM " + f.table + " c WHERE " + f.condition + ")";
    where.args.insert(where.args.end(), f.args.begin(), f.args.end());
  }
}

// As a probe of each image, for a page that walks its sort order's index: it stops after
// one page however many images match.
void AddProbes(const std::vector<ChildFilter>& filters, WhereClause& where) {
  for (const auto& f : filters) {
    where.sql += " AND EXISTS (SELECT 1 FROM " + f.table + " c WHERE c.image_id = images.id AND " + f.condition + ")";
    where.args.insert(where.args.end(), f.args.begin(), f.args.end());
  }
}

// A filter is dense when a page finds its images after a short walk of the sort order
// (a probe of each image walked) rather than collecting and sorting every match. Walking
// costs about twice what collecting does per row here (MariaDB 10.11, 100,000 images:
// a filter matching 1% took 12 ms collected, 55 ms walked; 3.3%: 34 ms and 17 ms; 10%:
// 510 ms and 8 ms), so the two meet near sqrt(2 x limit x catalog size) matches: 2,000
// for a default page of 100,000 images. The threshold grows with the page size. Both
// engines: SQLite collects a filter's matches too (an ephemeral table probed along the
// sort order), and walking doubled its dense filters' throughput (bench/list_scale.py,
// 100,000 images: os_distro 669 -> 1271 req/s, a member's tag 367 -> 793).
int64_t DenseMatches(int64_t limit) { return 80 * std::max<int64_t>(limit, 25); }

// How many matches a filter may have to drive a page: its images are then read by id, one
// lookup each, checked and sorted (bounded work, whatever the catalog's size), instead of
// an engine's choice of walking the sort order's index through the whole catalog and
// probing each image (SQLite 3.40 without statistics always walks: a member's tag with
// 1,000 matches took 33 ms of 100,000 images walked, 2 ms driven; 2,000 matches the member
// cannot see, 48 and 10 ms; 10,000, 64 and 20 ms). Counting this far costs 1-2 ms.
int64_t DriveMatches(int64_t limit) { return 10 * DenseMatches(limit); }

// A filter's matches, counted up to `cap` (an index-only count).
Result<int64_t> CountMatches(Db& db, const ChildFilter& f, int64_t cap) {
  auto st = db.Prepare("SELECT COUNT(*) FROM (SELECT 1 FROM " + f.table + " c WHERE " + f.condition +
                       " LIMIT ?) t");
  if (!st.ok()) return st.status();
  int i = 1;
  for (const auto& a : f.args) st->Bind(i++, a);
  st->Bind(i, cap);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return *row ? st->Int(0) : int64_t{0};
}

// The requested sort keys, always ending with created_at and id so the order is total
// (added in the direction of the first key, descending by default).
Result<std::vector<SortKey>> TotalSortOrder(const std::vector<SortKey>& requested) {
  std::vector<SortKey> sort = requested;
  bool default_asc = sort.empty() ? false : sort.front().ascending;
  if (sort.empty()) sort.push_back({"created_at", false});
  for (const char* k : {"created_at", "id"}) {
    if (std::none_of(sort.begin(), sort.end(), [&](const SortKey& s) { return s.key == k; })) {
      sort.push_back({k, default_asc});
    }
  }
  for (const auto& s : sort) {
    if (!kFilterColumns.count(s.key)) return Status::InvalidArgument("Invalid sort key: " + s.key);
  }
  return sort;
}

// The marker image's value of a sort key; NULL where the column is.
SqlValue MarkerValue(const ImageRecord& m, const std::string& key) {
  if (key == "id") return m.id;
  if (key == "name") return m.name ? SqlValue(*m.name) : SqlValue();
  if (key == "status") return m.status;
  if (key == "visibility") return m.visibility;
  if (key == "owner") return m.owner ? SqlValue(*m.owner) : SqlValue();
  if (key == "disk_format") return m.disk_format ? SqlValue(*m.disk_format) : SqlValue();
  if (key == "container_format") return m.container_format ? SqlValue(*m.container_format) : SqlValue();
  if (key == "size") return m.size ? SqlValue(*m.size) : SqlValue();
  if (key == "virtual_size") return m.virtual_size ? SqlValue(*m.virtual_size) : SqlValue();
  if (key == "checksum") return m.checksum ? SqlValue(*m.checksum) : SqlValue();
  if (key == "os_hash_value") return m.os_hash_value ? SqlValue(*m.os_hash_value) : SqlValue();
  if (key == "min_disk") return m.min_disk;
  if (key == "min_ram") return m.min_ram;
  if (key == "protected") return int64_t{m.is_protected};
  if (key == "created_at") return m.created_at;
  if (key == "updated_at") return m.updated_at;
  return SqlValue();
}

// The marker must be a live image; InvalidArgument otherwise (Glance's wording).
Result<ImageRecord> ReadMarker(Db& db, const std::string& marker) {
  auto st = db.Prepare("SELECT " + std::string(kImageColumns) +
                       " FROM images WHERE id = ? AND deleted = 0");
  if (!st.ok()) return st.status();
  st->Bind(1, marker);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::InvalidArgument("Invalid marker. Image could not be found.");
  return ReadImage(*st);
}

// Keyset pagination: rows strictly after the marker row in the sort order, i.e. for some
// key i, equal on keys 0..i-1 and after it on key i. SQLite orders NULL before any value.
void AddAfterMarker(const ImageRecord& m, const std::vector<SortKey>& sort, WhereClause& where) {
  std::string keyset = "(";
  for (size_t i = 0; i < sort.size(); ++i) {
    if (i) keyset += " OR ";
    keyset += "(";
    for (size_t j = 0; j < i; ++j) {
      SqlValue mv = MarkerValue(m, sort[j].key);
      if (std::holds_alternative<std::monostate>(mv)) {
        keyset += sort[j].key + " IS NULL AND ";
      } else {
        keyset += sort[j].key + " = ? AND ";
        where.args.push_back(mv);
      }
    }
    SqlValue mv = MarkerValue(m, sort[i].key);
    const std::string& k = sort[i].key;
    if (std::holds_alternative<std::monostate>(mv)) {
      // After NULL ascending: any non-null; descending: nothing is below NULL.
      keyset += sort[i].ascending ? k + " IS NOT NULL" : "1 = 0";
    } else if (sort[i].ascending) {
      keyset += k + " > ?";
      where.args.push_back(mv);
    } else {
      keyset += "(" + k + " < ? OR " + k + " IS NULL)";
      where.args.push_back(mv);
    }
    keyset += ")";
  }
  keyset += ")";
  where.sql += " AND " + keyset;
  // The same bound on the first key alone, redundant but sargable: both engines then
  // seek the first key's index to the marker instead of testing the OR above on every
  // row from the start (a page deep in a large catalog). NULLs sort first, so it holds
  // for every row after a non-NULL marker ascending, and descending where no NULLs exist.
  static const std::set<std::string> kNotNull = {"id",        "status",   "visibility", "min_disk",
                                                 "min_ram",   "protected", "created_at", "updated_at"};
  SqlValue first = MarkerValue(m, sort[0].key);
  if (!std::holds_alternative<std::monostate>(first) && (sort[0].ascending || kNotNull.count(sort[0].key))) {
    where.sql += " AND " + sort[0].key + (sort[0].ascending ? " >= ?" : " <= ?");
    where.args.push_back(first);
  }
}

std::string OrderBy(const std::vector<SortKey>& sort) {
  std::string order;
  for (size_t i = 0; i < sort.size(); ++i) {
    if (i) order += ", ";
    order += sort[i].key + (sort[i].ascending ? " ASC" : " DESC");
  }
  return order;
}

// Runs the page query, then loads the page's child rows.
Status ReadPage(Db& db, const std::string& query, const std::vector<SqlValue>& args,
                std::vector<ImageRecord>* out) {
  auto st = db.Prepare(query);
  if (!st.ok()) return st.status();
  for (size_t i = 0; i < args.size(); ++i) st->Bind(static_cast<int>(i + 1), args[i]);
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out->push_back(ReadImage(*st));
  }
  return LoadChildren(db, *out);
}

// How far a probe walk may go: the rows after the marker in the sort order that a page of
// a filter as dense as DenseMatches needs in a catalog of 160,000 images (2,000 for a
// default page, about 44 ms on MariaDB 10.11). A dense filter whose matches the viewer
// cannot see, or that another condition rules out, would otherwise walk the whole catalog
// (seconds at 100,000 images).
int64_t WalkRows(int64_t limit) { return DenseMatches(limit); }

std::vector<SortKey> Reversed(std::vector<SortKey> sort) {
  for (auto& k : sort) k.ascending = !k.ascending;
  return sort;
}

// The image WalkRows rows after the marker in the sort order (an index-only count along
// the sort order's index, then one row by id); nullopt when fewer remain.
Result<std::optional<ImageRecord>> WalkBound(Db& db, const ListQuery& q, const std::vector<SortKey>& sort,
                                             const std::optional<ImageRecord>& marker, const std::string& index) {
  WhereClause walk;
  if (marker) AddAfterMarker(*marker, sort, walk);
  auto st = db.Prepare("SELECT id FROM images" + db.dialect().UseIndex(index) + " WHERE " + walk.sql + " ORDER BY " +
                       OrderBy(sort) + db.dialect().LimitOffset());
  if (!st.ok()) return st.status();
  int i = 1;
  for (const auto& a : walk.args) st->Bind(i++, a);
  st->Bind(i++, int64_t{1});
  st->Bind(i, WalkRows(q.limit));
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ImageRecord>();
  auto bound = ReadMarker(db, st->Text(0));
  if (!bound.ok()) return bound.status();
  return std::optional<ImageRecord>(std::move(bound).value());
}

// The dense filters as probes while walking the sort order's index from the marker, which
// ends at the first page of matches, or at the walk's bound: only rows before `bound`.
// `out` then holds fewer than q.limit images although more may match further on, and the
// caller asks again with semi-joins.
Status WalkPage(Db& db, const ListQuery& q, const std::vector<SortKey>& sort, const std::optional<ImageRecord>& marker,
                const std::optional<ImageRecord>& bound, const std::string& index, WhereClause where,
                const std::vector<ChildFilter>& filters, std::vector<ImageRecord>* out) {
  AddProbes(filters, where);
  if (marker) AddAfterMarker(*marker, sort, where);
  if (bound) {
    // Before the bound in the sort order: after it in the reverse order. The first key
    // bounded too where it may be NULL (the reverse order's own bound needs it not NULL),
    // so the walk's index range ends there.
    AddAfterMarker(*bound, Reversed(sort), where);
    SqlValue first = MarkerValue(*bound, sort[0].key);
    if (sort[0].ascending && !std::holds_alternative<std::monostate>(first)) {
      where.sql += " AND (" + sort[0].key + " <= ? OR " + sort[0].key + " IS NULL)";
      where.args.push_back(first);
    }
  }
  std::string query = std::string("SELECT ") + kImageColumns + " FROM images" + db.dialect().UseIndex(index) +
                      " WHERE " + where.sql + " ORDER BY " + OrderBy(sort) + " LIMIT ?";
  where.args.emplace_back(int64_t{q.limit});
  return ReadPage(db, query, where.args, out);
}

// A page driven by one child filter: its matches first, each image then read by id and
// checked, the other filters probed per image, the survivors sorted.
Status DrivePage(Db& db, const ListQuery& q, const std::vector<SortKey>& sort, const std::optional<ImageRecord>& marker,
                 WhereClause where, const std::vector<ChildFilter>& filters, size_t drive,
                 std::vector<ImageRecord>* out) {
  std::vector<ChildFilter> others;
  for (size_t i = 0; i < filters.size(); ++i) {
    if (i != drive) others.push_back(filters[i]);
  }
  AddProbes(others, where);
  if (marker) AddAfterMarker(*marker, sort, where);
  const ChildFilter& d = filters[drive];
  std::vector<SqlValue> args = d.args;  // the derived table's placeholders come first
  args.insert(args.end(), where.args.begin(), where.args.end());
  args.emplace_back(int64_t{q.limit});
  std::string query = std::string("SELECT ") + kImageColumns + " FROM (SELECT c.image_id AS match_id FROM " +
                      d.table + " c WHERE " + d.condition + ") m" + db.dialect().JoinInOrder() +
                      "images ON images.id = m.match_id WHERE " + where.sql + " ORDER BY " + OrderBy(sort) +
                      " LIMIT ?";
  return ReadPage(db, query, args, out);
}

// Each filter's matches, counted up to `cap`; the index of the filter with the fewest.
Result<size_t> CountAll(Db& db, const std::vector<ChildFilter>& filters, int64_t cap, std::vector<int64_t>* matches) {
  matches->clear();
  for (const auto& f : filters) {
    auto n = CountMatches(db, f, cap);
    if (!n.ok()) return n.status();
    matches->push_back(*n);
  }
  return static_cast<size_t>(std::min_element(matches->begin(), matches->end()) - matches->begin());
}

// How a page with child filters is found: walking the sort order while every filter is
// dense (the walk ends at a page or its bound), else driven by the filter with the fewest
// matches while they are few enough, else by the engine's semi-joins.
Status ListPage(Db& db, const ListQuery& q, std::vector<ImageRecord>* out) {
  WhereClause where;
  AddViewerScope(q, where);
  AddVisibility(q, where);
  AddHiddenAndSize(q, where);
  for (const auto& f : q.filters) GLINT_RETURN_IF_ERROR(AddFilter(f, where));
  auto sort = TotalSortOrder(q.sort);
  if (!sort.ok()) return sort.status();
  // The index of the sort order, where one exists: MariaDB needs it named for a page
  // after a marker (otherwise it walks every row before the marker) and for probes.
  std::string order_index;
  if ((*sort)[0].key == "created_at") order_index = "ix_images_created";
  if ((*sort)[0].key == "name") order_index = "ix_images_name_order";
  std::optional<ImageRecord> marker;
  if (q.marker) {
    auto m = ReadMarker(db, *q.marker);
    if (!m.ok()) return m.status();
    marker = std::move(m).value();
  }
  auto filters = ChildFilters(q);
  std::vector<int64_t> matches;
  if (!filters.empty()) {
    auto fewest = CountAll(db, filters, DenseMatches(q.limit), &matches);
    if (!fewest.ok()) return fewest.status();
    if (matches[*fewest] < DenseMatches(q.limit)) return DrivePage(db, q, *sort, marker, where, filters, *fewest, out);
    if (!order_index.empty()) {
      auto bound = WalkBound(db, q, *sort, marker, order_index);
      if (!bound.ok()) return bound.status();
      GLINT_RETURN_IF_ERROR(WalkPage(db, q, *sort, marker, *bound, order_index, where, filters, out));
      if (static_cast<int64_t>(out->size()) >= q.limit || !*bound) return Status::Ok();
      out->clear();  // the walk reached its bound
    }
    fewest = CountAll(db, filters, DriveMatches(q.limit), &matches);
    if (!fewest.ok()) return fewest.status();
    if (matches[*fewest] < DriveMatches(q.limit)) return DrivePage(db, q, *sort, marker, where, filters, *fewest, out);
  }
  AddSemiJoins(filters, where);
  if (marker) AddAfterMarker(*marker, *sort, where);
  std::string from = "images";
  if (marker && !order_index.empty()) from += db.dialect().UseIndex(order_index);
  std::string query = std::string("SELECT ") + kImageColumns + " FROM " + from + " WHERE " + where.sql +
                      " ORDER BY " + OrderBy(*sort) + " LIMIT ?";
  where.args.emplace_back(int64_t{q.limit});
  return ReadPage(db, query, where.args, out);
}

}  // namespace

Result<std::vector<ImageRecord>> SqlCatalog::ListImages(const ListQuery& q) {
  std::vector<ImageRecord> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();  // a retried call starts again
    return ListPage(db, q, &out);
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace glint::catalog
