#pragma once
// The SQLite side of failures (rules in storage/failure_counts.hpp): the failure rows, the
// counts behind groups, clients and poison mutations, merged with upserts at write time, and
// the queries over them. Owned by SqliteStorage, which provides the connection, transactions
// and the reader (QueryFn).
#include <SQLiteCpp/SQLiteCpp.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/failure_counts.hpp"
#include "storage/sqlite/sqlite_util.hpp"
#include "tether/failures.hpp"
#include "tether/storage.hpp"

namespace tether::detail::sqlite {

/// Migration 4: the tables and their indexes.
extern const char* const failure_tables_migration;

class FailureTables {
public:
    /// Prepares the write statements on `writer` (the schema must be migrated).
    explicit FailureTables(SQLite::Database& writer);

    /// Inside the storage's write transaction.
    void write(const FailureCounts& delta, const std::vector<FailureRecord>& failures);
    /// Inside the storage's write transaction: counts last seen before `before_us`.
    void prune(Micros before_us);
    /// Inside the storage's write transaction: keeps the `keep` most recently seen poison
    /// candidates (fewer when several share the cut-off time), deleting at most
    /// max_poison_trim_per_call of the oldest.
    void trim_poison(std::uint64_t keep);
    /// Whether there are more than `keep` poison candidates: a read, so that a trim with
    /// nothing to do never takes the write lock.
    bool poison_over(std::uint64_t keep);

    // Reads through `q`: the storage runs each call inside one read transaction.
    Page<FailureRecord> list(const QueryFn& q, const FailureFilter& filter, const PageRequest& page) const;
    std::vector<FailureGroup> groups(const QueryFn& q, const FailureGroupQuery& query,
                                     const FailureThresholds& t) const;
    std::optional<FailureGroup> group(const QueryFn& q, std::string_view fingerprint, std::string_view instance,
                                      Micros now_us, const FailureThresholds& t, bool hourly) const;
    Page<ClientSummary> clients(const QueryFn& q, const ClientFilter& filter, const PageRequest& page,
                                const FailureThresholds& t) const;
    std::optional<ClientSummary> client(const QueryFn& q, std::string_view client_id, const FailureThresholds& t) const;
    std::vector<ClientModelCounts> client_models(const QueryFn& q, std::string_view client_id) const;
    std::vector<PoisonMutation> poison(const QueryFn& q, const PoisonQuery& query, const FailureThresholds& t) const;

private:
    SQLite::Statement insert_failure_, upsert_group_, upsert_group_client_, upsert_bucket_, upsert_client_,
        upsert_client_model_, upsert_poison_, find_poison_, update_poison_, trim_poison_,
        poison_over_;
    std::vector<SQLite::Statement> prune_;
};

}  // namespace tether::detail::sqlite
