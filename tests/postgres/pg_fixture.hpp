#pragma once
// PostgreSQL for tests: the server named by TETHER_TEST_POSTGRES_URL (scripts/pg-test-server
// starts a throwaway one), a fresh schema per test case, and a side connection of the test's
// own for what the storage does not expose (catalog queries, killing its connections).
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "tether/postgres_storage.hpp"
#include "tether/storage.hpp"

namespace tether::test {

/// TETHER_TEST_POSTGRES_URL; empty when unset (main() then skips the whole executable).
std::string postgres_test_url();

/// A schema name no other test (or test process) uses; dropped with everything in it on
/// destruction. The storage objects must be gone by then (they hold connections).
class PgSchema {
public:
    PgSchema();
    /// A given name (open_storage() always uses "tether"), dropped all the same.
    explicit PgSchema(std::string name) : name_(std::move(name)) {}
    ~PgSchema();
    PgSchema(const PgSchema&) = delete;
    PgSchema& operator=(const PgSchema&) = delete;

    const std::string& name() const noexcept { return name_; }
    /// Options for open_postgres_storage on this schema.
    PostgresOptions options() const;
    /// Runs `sql` (several statements allowed) on a connection of the test's own whose
    /// search_path is this schema; returns the last statement's rows.
    pqxx::result exec(const std::string& sql) const;
    /// Terminates every server connection of tether on this schema (they carry
    /// application_name "tether-pro:<schema>") and waits until they are gone; returns how
    /// many there were.
    int kill_connections() const;

private:
    std::string name_;
};

/// TETHER_STORAGE_BACKENDS in tether_postgres_tests: a new storage in a new schema.
struct FreshPostgres {
    PgSchema schema;
    std::shared_ptr<Storage> storage = open_postgres_storage(schema.options());
};

}  // namespace tether::test
