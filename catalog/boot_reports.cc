// Learned boot sets in the catalog: one row per (image, reporter, host) holding that
// host's last report (chunk indexes as ascending decimal text). A report replaces the
// row of its (reporter, host); rows beyond the limits go oldest first, in the same
// transaction, so neither a reporter nor an image can grow the table without bound.
#include <sstream>
#include <string>
#include <utility>

#include "catalog/image_rows.h"
#include "catalog/sql_catalog.h"

namespace glint::catalog {

using sql::Db;
using sql::Transaction;

namespace {

std::string EncodeChunks(const std::vector<int64_t>& chunks) {
  std::string out;
  for (int64_t c : chunks) {
    if (!out.empty()) out.push_back(',');
    out += std::to_string(c);
  }
  return out;
}

std::vector<int64_t> DecodeChunks(const std::string& text) {
  std::vector<int64_t> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(std::stoll(item));
  }
  return out;
}

// Deletes the rows named by `keys` (reporter, host) of the image.
Status DeleteRows(Db& db, const std::string& image_id, const std::vector<std::pair<std::string, std::string>>& keys) {
  for (const auto& [reporter, host] : keys) {
    auto del = db.Prepare("DELETE FROM image_boot_reports WHERE image_id = ? AND reporter = ? AND host = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, image_id);
    del->Bind(2, reporter);
    del->Bind(3, host);
    GLINT_RETURN_IF_ERROR(del->Run());
  }
  return Status::Ok();
}

// Keeps the newest `keep` rows of the image (of one reporter when `reporter` is given).
Status KeepNewest(Db& db, const std::string& image_id, const std::string* reporter, int keep) {
  std::string sql = "SELECT reporter, host FROM image_boot_reports WHERE image_id = ?";
  if (reporter) sql += " AND reporter = ?";
  sql += " ORDER BY reported_at DESC, reporter, host";
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  st->Bind(1, image_id);
  if (reporter) st->Bind(2, *reporter);
  std::vector<std::pair<std::string, std::string>> extra;
  for (int n = 0;; ++n) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (n >= keep) extra.emplace_back(st->Text(0), st->Text(1));
  }
  return DeleteRows(db, image_id, extra);
}

// The time of the (reporter, host) row, 0 when there is none.
Result<int64_t> LastReport(Db& db, const BootReport& r) {
  auto st = db.Prepare("SELECT reported_at FROM image_boot_reports WHERE image_id = ? AND reporter = ? AND host = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, r.image_id);
  st->Bind(2, r.reporter);
  st->Bind(3, r.host);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return *row ? st->Int(0) : int64_t{0};
}

}  // namespace

Status DeleteBootReports(Db& db, const std::string& image_id) {
  auto st = db.Prepare("DELETE FROM image_boot_reports WHERE image_id = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, image_id);
  return st->Run();
}

Status SqlCatalog::PutBootReport(const BootReport& r, const BootReportLimits& limits) {
  return pool_.WithDb([&](Db& db) -> Status {
    Transaction tx(db);
    GLINT_RETURN_IF_ERROR(tx.status());
    auto last = LastReport(db, r);
    if (!last.ok()) return last.status();
    if (*last > 0 && r.reported_at - *last < limits.min_interval) {
      const int64_t wait = limits.min_interval - (r.reported_at - *last);  // microseconds, > 0
      return Status::TooManyRequests("Host " + r.host + " reported the boot set of image " + r.image_id +
                                         " less than " + std::to_string(limits.min_interval / 1000000) +
                                         " s ago; report again later",
                                     (wait + 999999) / 1000000);
    }
    // Insert-or-ignore, then update: idempotent under concurrent writers of one row.
    auto ins = db.Prepare(db.dialect().InsertIgnore() +
                          " INTO image_boot_reports (image_id, reporter, host, chunks, chunk_count, reported_at) "
                          "VALUES (?, ?, ?, '', 0, 0)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, r.image_id);
    ins->Bind(2, r.reporter);
    ins->Bind(3, r.host);
    GLINT_RETURN_IF_ERROR(ins->Run());
    auto up = db.Prepare(
        "UPDATE image_boot_reports SET chunks = ?, chunk_count = ?, reported_at = ? "
        "WHERE image_id = ? AND reporter = ? AND host = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, EncodeChunks(r.chunks));
    up->Bind(2, static_cast<int64_t>(r.chunks.size()));
    up->Bind(3, r.reported_at);
    up->Bind(4, r.image_id);
    up->Bind(5, r.reporter);
    up->Bind(6, r.host);
    GLINT_RETURN_IF_ERROR(up->Run());
    GLINT_RETURN_IF_ERROR(KeepNewest(db, r.image_id, &r.reporter, limits.max_hosts_per_reporter));
    GLINT_RETURN_IF_ERROR(KeepNewest(db, r.image_id, nullptr, limits.max_reports_per_image));
    return tx.Commit();
  });
}

Result<std::vector<BootReport>> SqlCatalog::ListBootReports(const std::string& image_id) {
  std::vector<BootReport> out;
  Status s = pool_.WithDb([&](Db& db) -> Status {
    out.clear();
    auto st = db.Prepare(
        "SELECT reporter, host, chunks, reported_at FROM image_boot_reports WHERE image_id = ? "
        "ORDER BY reporter, host");
    if (!st.ok()) return st.status();
    st->Bind(1, image_id);
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      BootReport r{image_id, st->Text(0), st->Text(1), {}, st->Int(3)};
      try {
        r.chunks = DecodeChunks(st->Text(2));
      } catch (const std::exception&) {
        return Status::Corruption("boot report of image " + image_id + " from " + r.host + " is not a chunk list");
      }
      out.push_back(std::move(r));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace glint::catalog
