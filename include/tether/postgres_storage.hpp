#pragma once
// PostgreSQL storage (target tether::postgres): many sync server instances write to one
// database and one dashboard shows them all, with a per-instance filter. Counters (rollups,
// failure groups, conflict counts) are merged with upserts, so concurrent writers from
// several processes never lose an update. Requests and mutations live in tables partitioned
// by day; retention drops whole partitions instead of deleting rows.
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
    /// test runs) share one database without seeing each other's data.
    std::string schema = "tether";
    /// Longest wait for a connection; also the wait between reconnection attempts' deadline.
    std::chrono::milliseconds connect_timeout{5'000};
};

/// Connects, creates the schema when missing and migrates it. Throws StorageError when the
/// server cannot be reached or the schema was written by a newer version of this library.
/// A connection that drops later (server restart) is re-established on the next call; the
/// call that saw it fail throws a transient StorageError, which the recorder's writer retries.
std::shared_ptr<Storage> open_postgres_storage(const PostgresOptions& options);

/// Current schema version written by this library.
int postgres_schema_version() noexcept;

}  // namespace tether
