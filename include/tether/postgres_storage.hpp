#pragma once
// PostgreSQL storage (target tether::postgres): many sync server instances write to one
// database and one dashboard shows them all, with a per-instance filter. Counters (rollups,
// failure groups, conflict counts) are merged with upserts and row locks, so concurrent writers
// from several processes never lose an update. Requests and what belongs to them live in tables
// partitioned by day; retention drops whole days instead of deleting rows. Operating it:
// docs/operations.md ("PostgreSQL scale-out").
//
// prune() drops every day that ended at or before the age cutoff in one go, and returns the
// number of requests those days held, which may exceed max_requests_per_call; otherwise it
// keeps to the Storage contract.
#include <chrono>
#include <memory>
#include <string>

#include "tether/storage.hpp"

namespace tether {

struct PostgresOptions {
    /// libpq connection URI ("postgresql://user:secret@host:5432/db?sslmode=require") or
    /// key=value string. describe() and every error message show it without the password.
    std::string url;
    /// Schema holding tether's tables; created when missing. Lets several deployments (or
    /// test runs) share one database without seeing each other's data. A plain lowercase
    /// identifier: 1-63 characters of [a-z0-9_], not starting with a digit or "pg_".
    std::string schema = "tether";
    /// Longest wait for a connection (libpq counts whole seconds, at least 2), when opening
    /// and when reconnecting. A connect_timeout in the URL takes precedence.
    std::chrono::milliseconds connect_timeout{5'000};
};

/// Connects, creates the schema when missing and migrates it. Throws StorageError when the
/// server cannot be reached or the schema was written by a newer version of this library,
/// InvalidArgument("schema") for a schema name that is not a plain identifier.
/// A connection that drops later (server restart) is re-established: a read runs once more on
/// a fresh connection; a write that saw it fail throws a transient StorageError, which the
/// recorder's writer retries, and the next call reconnects.
std::shared_ptr<Storage> open_postgres_storage(const PostgresOptions& options);

/// Current schema version written by this library.
int postgres_schema_version() noexcept;

}  // namespace tether
