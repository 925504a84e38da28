#pragma once
// The SQLite schema as an ordered list of migrations (defined in sqlite_storage.cpp).
// Migration i (0-based) takes a database from schema version i to i + 1; the version
// itself is tracked in the `schema_version` table by open_sqlite_storage, not here.
// Exposed so that benchmarks can build the identical schema and time raw inserts.
#include <string>
#include <vector>

namespace tether::detail {

/// Each element is one or more SQL statements, applied in order inside a transaction.
const std::vector<std::string>& sqlite_migrations();

}  // namespace tether::detail
