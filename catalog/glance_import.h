// Adoption of an existing Glance catalog: reads the schema `glance-manage db_sync` creates,
// from SQLite or MySQL/MariaDB, and adds every image to a Glint catalog as it is.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sql/connection_url.h"

namespace glint::catalog {

class Catalog;

// Read access to a Glance database. Rows come back as text (NULL = nullopt), which is how
// both engines hand out the few column types Glance uses (strings, integers, booleans,
// datetimes). The SQL is plain and portable; `?` takes the one optional parameter.
class GlanceSource {
 public:
  using Row = std::vector<std::optional<std::string>>;
  virtual ~GlanceSource() = default;
  virtual Result<std::vector<Row>> Query(const std::string& sql,
                                         const std::optional<std::string>& param = std::nullopt) = 0;
};

// A Glance `[database] connection` URL split into what a client library needs.
using GlanceConnection = sql::ConnectionSpec;
Result<GlanceConnection> ParseGlanceConnection(const std::string& url);

// Opens the source and starts one consistent read (a snapshot), so a Glance that is still
// serving while the import runs cannot make it see half of a change.
Result<std::unique_ptr<GlanceSource>> OpenGlanceSource(const std::string& url);

// Implemented in glance_mysql.cc (links libmariadb); only the adoption tool needs it.
Result<std::unique_ptr<GlanceSource>> OpenMysqlGlanceSource(const GlanceConnection& c);

struct ImportCounts {
  int imported = 0, deleted_ids = 0, skipped = 0;
};

// Adds every Glance image to `catalog`: same ids, states, timestamps, data facts,
// properties, tags, members and locations, so the data stays where Glance put it. Deleted
// images keep their ids reserved; half-uploaded ones come over as queued; images already
// present are skipped, so the import can be re-run.
Result<ImportCounts> ImportGlanceCatalog(GlanceSource& source, Catalog& catalog);

}  // namespace glint::catalog
