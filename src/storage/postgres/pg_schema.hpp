#pragma once
// The PostgreSQL schema as an ordered list of migrations, and the step that applies them.
// Migration i (0-based) takes a schema from version i to i + 1; the version is kept in the
// schema's `schema_version` table.
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "storage/postgres/pg_util.hpp"

namespace tether::detail::pg {

/// Each element is one or more SQL statements, applied in order inside one transaction.
const std::vector<std::string>& migrations();

/// Creates the schema when missing and migrates it to the newest version, in one transaction
/// that holds an advisory lock on the schema (processes that start together take turns).
/// Throws StorageError (permanent) when the schema was written by a newer version.
void migrate(pqxx::connection& c, const Target& target);

}  // namespace tether::detail::pg
