#pragma once
// The PostgreSQL side of failures (rules in storage/failure_counts.hpp): failure rows, and the
// counts behind groups, clients and poison mutations, merged with upserts inside the batch's
// transaction so that concurrent writers never lose an update; plus the queries over them.
// The SQLite backend asks the same questions (storage/sqlite/failure_tables.cpp); the
// contract suite holds both to the same answers.
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "storage/failure_counts.hpp"
#include "tether/failures.hpp"
#include "tether/storage.hpp"

namespace tether::detail::pg::failures {

/// Inside the batch's transaction, with the batch's other partitioned rows.
/// `request_started_at` maps each failure's request to its start (the partition key).
void write_rows(pqxx::transaction_base& tx, const std::vector<FailureRecord>& rows,
                const std::map<std::string, Micros>& request_started_at);
/// Inside the batch's transaction: merges what the batch adds to the counts.
void add_counts(pqxx::transaction_base& tx, const FailureCounts& delta);
/// Counts last seen before `before_us` (telemetry retention).
void prune(pqxx::transaction_base& tx, Micros before_us);
/// Keeps the `keep` most recently seen poison candidates (fewer when several share the
/// cut-off), deleting at most max_poison_trim_per_call of the oldest.
void trim_poison(pqxx::transaction_base& tx, std::uint64_t keep);

// Reads, each inside one read-only transaction of the caller.
Page<FailureRecord> list(pqxx::transaction_base& tx, const FailureFilter& filter, const PageRequest& page);
std::vector<FailureGroup> groups(pqxx::transaction_base& tx, const FailureGroupQuery& query,
                                 const FailureThresholds& t);
std::optional<FailureGroup> group(pqxx::transaction_base& tx, std::string_view fingerprint, std::string_view instance,
                                  Micros now_us, const FailureThresholds& t, bool hourly);
Page<ClientSummary> clients(pqxx::transaction_base& tx, const ClientFilter& filter, const PageRequest& page,
                            const FailureThresholds& t);
std::optional<ClientSummary> client(pqxx::transaction_base& tx, std::string_view client_id, const FailureThresholds& t);
std::vector<ClientModelCounts> client_models(pqxx::transaction_base& tx, std::string_view client_id);
std::vector<PoisonMutation> poison(pqxx::transaction_base& tx, const PoisonQuery& query, const FailureThresholds& t);

}  // namespace tether::detail::pg::failures
