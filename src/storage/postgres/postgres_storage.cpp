// PostgreSQL storage: many sync server processes write to one database, each through a writer
// connection (batches, retention) while dashboard threads read through a second one; each
// connection is behind its own mutex, and each is re-established after it drops.
//
// Concurrent writers never lose an update: counts are merged with INSERT … ON CONFLICT DO
// UPDATE arithmetic, and rollups (whose latency histograms and client caps do not merge in
// SQL) under a row lock, always in key order so that batches wait for each other instead of
// deadlocking. Requests and their rows live in day partitions (partitions.hpp).
#include "tether/postgres_storage.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

#include "storage/conflict_counts.hpp"
#include "storage/failure_counts.hpp"
#include "storage/keys.hpp"
#include "storage/postgres/failure_tables.hpp"
#include "storage/postgres/partitions.hpp"
#include "storage/postgres/pg_schema.hpp"
#include "storage/postgres/pg_util.hpp"
#include "storage/record_columns.hpp"
#include "tether/errors.hpp"

namespace tether {
namespace {

using namespace detail::pg;
namespace failures = detail::pg::failures;
namespace columns = detail::columns;

constexpr columns::Decoder decode("postgres");

// Column lists in table order; list queries stop before the detail-only columns.
constexpr const char* request_summary_columns =
    "r.id, r.kind, r.client_id, r.client_version, r.instance, r.started_at, r.duration_us, r.http_status, "
    "r.outcome, r.mutation_count, r.applied, r.rejected, r.conflicts, r.snapshots, r.models, r.last_sync_cursor, "
    "r.new_sync_cursor, r.pull_limit, r.has_more, r.request_truncated, r.response_truncated, "
    "r.request_body_dropped, r.response_body_dropped, r.request_body_scrubbed, r.response_body_scrubbed, "
    "r.request_parse_error, r.response_parse_error, r.replay_of, r.recorded_at";
constexpr const char* request_detail_columns =
    ", r.headers, r.redacted_paths, r.notes, r.request_body, r.response_body, r.replayed_by, r.replayed_at, "
    "r.replay_id_map, r.replay_skipped";

constexpr const char* mutation_columns =
    "m.id, m.request_id, m.seq, m.client_id, m.instance, m.started_at, m.mutation_id, m.entity_id, m.model, "
    "m.operation, m.version, m.client_timestamp_ms, m.outcome, m.reason, m.payload_redacted, m.has_conflict, "
    "m.conflict_reason, m.conflict_resolver, m.conflict_resolution, m.conflict_server_updated_at, "
    "m.conflict_by_host, m.conflict_in_response, m.validation, m.rejection_data, m.payload_diff, m.change_diff, "
    "m.conflict_server_state, m.state_before, m.state_after, m.payload, m.conflict_fields";

// mutation_columns for read_mutation, with constants for what a ConflictRecord does not show
// (validation, rejection data, diffs, state after), then the request's client_version.
constexpr const char* conflict_columns =
    "m.id, m.request_id, m.seq, m.client_id, m.instance, m.started_at, m.mutation_id, m.entity_id, m.model, "
    "m.operation, m.version, m.client_timestamp_ms, m.outcome, m.reason, m.payload_redacted, m.has_conflict, "
    "m.conflict_reason, m.conflict_resolver, m.conflict_resolution, m.conflict_server_updated_at, "
    "m.conflict_by_host, m.conflict_in_response, ''::bytea, ''::bytea, '[]'::bytea, '[]'::bytea, "
    "m.conflict_server_state, m.state_before, ''::bytea, m.payload, m.conflict_fields, r.client_version";
constexpr int conflict_client_version_column = 31;

constexpr const char* rollup_columns =
    "width_us, start_us, instance, requests, pushes, pulls, mutations, snapshots, applied, rejected, conflicts, "
    "conflict_requests, failed_requests, duration_sum_us, duration_max_us, latency, models, clients";

// Every request lives in the day partition of its start (partitions.hpp); readers join
// requests first, as writers and prune lock them, so that a partition drop waits for them
// instead of deadlocking with them.
constexpr const char* conflict_from =
    " FROM requests r JOIN mutations m ON m.request_id = r.id AND m.request_started_at = r.started_at";

RequestRecord read_request(const pqxx::row& s, bool detail) {
    RequestRecord r;
    r.id = text(s[0]);
    auto kind = parse_exchange_kind(text(s[1]));
    if (!kind) decode.corrupt("requests.kind");
    r.kind = *kind;
    r.client_id = bytes(s[2]);
    r.client_version = bytes(s[3]);
    r.instance = bytes(s[4]);
    r.started_at_us = i64(s[5]);
    r.duration_us = i64(s[6]);
    r.http_status = s[7].as<int>();
    auto outcome = parse_request_outcome(text(s[8]));
    if (!outcome) decode.corrupt("requests.outcome");
    r.outcome = *outcome;
    r.mutation_count = u32(s[9]);
    r.applied = u32(s[10]);
    r.rejected = u32(s[11]);
    r.conflicts = u32(s[12]);
    r.snapshots = u32(s[13]);
    r.models = decode.strings(bytes(s[14]), "requests.models");
    r.last_sync_cursor = opt_i64(s[15]);
    r.new_sync_cursor = opt_i64(s[16]);
    r.pull_limit = opt_i64(s[17]);
    if (!s[18].is_null()) r.has_more = boolean(s[18]);
    r.request_truncated = boolean(s[19]);
    r.response_truncated = boolean(s[20]);
    r.request_body_dropped = boolean(s[21]);
    r.response_body_dropped = boolean(s[22]);
    r.request_body_scrubbed = boolean(s[23]);
    r.response_body_scrubbed = boolean(s[24]);
    if (!s[25].is_null()) r.request_parse_error = decode.parse_failure(bytes(s[25]), "requests.request_parse_error");
    if (!s[26].is_null()) r.response_parse_error = decode.parse_failure(bytes(s[26]), "requests.response_parse_error");
    r.replay_of = bytes(s[27]);
    r.recorded_at_us = i64(s[28]);
    if (detail) {
        r.headers = decode.headers(bytes(s[29]), "requests.headers");
        r.redacted_paths = decode.strings(bytes(s[30]), "requests.redacted_paths");
        r.notes = decode.notes(bytes(s[31]), "requests.notes");
        r.request_body = bytes(s[32]);
        r.response_body = bytes(s[33]);
        if (!s[35].is_null()) {
            ReplayAudit a;
            a.by = bytes(s[34]);
            a.at_us = i64(s[35]);
            a.mutation_id_map = decode.id_map(bytes(s[36]), "requests.replay_id_map");
            a.skipped = decode.skipped(bytes(s[37]), "requests.replay_skipped");
            r.replay_audit = std::move(a);
        }
    }
    return r;
}

MutationRecord read_mutation(const pqxx::row& s) {
    MutationRecord m;
    m.id = text(s[0]);
    m.request_id = text(s[1]);
    m.seq = u32(s[2]);
    m.client_id = bytes(s[3]);
    m.instance = bytes(s[4]);
    m.started_at_us = i64(s[5]);
    m.mutation_id = bytes(s[6]);
    m.entity_id = bytes(s[7]);
    m.model = bytes(s[8]);
    m.operation = bytes(s[9]);
    m.version = opt_i64(s[10]);
    m.client_timestamp_ms = opt_i64(s[11]);
    auto outcome = parse_mutation_outcome(text(s[12]));
    if (!outcome) decode.corrupt("mutations.outcome");
    m.outcome = *outcome;
    m.reason = bytes(s[13]);
    m.payload_redacted = boolean(s[14]);
    if (boolean(s[15])) {
        ConflictInfo c;
        c.reason = bytes(s[16]);
        c.resolver = bytes(s[17]);
        if (!s[18].is_null()) {
            c.resolution = parse_resolution(text(s[18]));
            if (!c.resolution) decode.corrupt("mutations.conflict_resolution");
        }
        c.server_updated_at = bytes(s[19]);
        c.reported_by_host = boolean(s[20]);
        c.reported_in_response = boolean(s[21]);
        c.server_state_json = bytes(s[26]);
        c.fields = decode.changes(bytes(s[30]), "mutations.conflict_fields");
        m.conflict = std::move(c);
    }
    m.validation_json = bytes(s[22]);
    m.rejection_data_json = bytes(s[23]);
    m.payload_diff = decode.changes(bytes(s[24]), "mutations.payload_diff");
    m.change_diff = decode.changes(bytes(s[25]), "mutations.change_diff");
    m.state_before_json = bytes(s[27]);
    m.state_after_json = bytes(s[28]);
    m.payload_json = bytes(s[29]);
    return m;
}

ConflictRecord read_conflict(const pqxx::row& s) {
    return detail::conflict_record(read_mutation(s), bytes(s[conflict_client_version_column]));
}

Rollup read_rollup(const pqxx::row& s, bool breakdowns) {
    Rollup r;
    r.width_us = i64(s[0]);
    r.start_us = i64(s[1]);
    r.instance = bytes(s[2]);
    std::uint64_t* counters[] = {&r.requests,          &r.pushes,          &r.pulls,           &r.mutations,
                                 &r.snapshots,         &r.applied,         &r.rejected,        &r.conflicts,
                                 &r.conflict_requests, &r.failed_requests, &r.duration_sum_us, &r.duration_max_us};
    for (int i = 0; i < 12; ++i) *counters[i] = u64(s[3 + i]);  // uint64 stored as its int64 bits
    r.latency = decode.latency(text(s[15]), "rollups.latency");
    if (!breakdowns) return r;
    decode.models(bytes(s[16]), "rollups.models", r.models);
    decode.clients(bytes(s[17]), "rollups.clients", r.clients);
    return r;
}

class PostgresStorage final : public Storage {
public:
    explicit PostgresStorage(const PostgresOptions& options)
        : target_(Target::parse(options)), writer_(target_), reader_(target_), shard_(random_shard()) {
        run(writer_, "open", [&](pqxx::connection& c) { migrate(c, target_); });
        run(reader_, "open", [](pqxx::connection&) {});  // fail now, not on the first dashboard read
    }

    std::string describe() const override { return target_.description; }

    void write_batch(const std::vector<CapturedRequest>& batch, const RollupBatch& rollups) override {
        detail::check_batch_ids(batch, "postgres");
        detail::check_rollups(rollups, "postgres");
        check_unique_in_batch(batch);
        if (batch.empty() && rollups.items.empty()) return;
        const auto conflict_delta = detail::conflict_count_delta(batch);
        std::vector<FailureRecord> failure_rows;
        const auto failure_delta = detail::failure_delta(batch, failure_rows);
        std::set<std::int64_t> days;
        std::map<std::string, Micros> started_at;
        for (const auto& c : batch) {
            days.insert(day_of(c.request.started_at_us));
            started_at.emplace(c.request.id, c.request.started_at_us);
        }
        std::lock_guard lock(write_mutex_);
        try {
            run(writer_, "write_batch", [&](pqxx::connection& c) {
                if (committed_before(c, batch)) return;
                partitions_.ensure(c, days);
                pqxx::work tx(c);
                // Tables in the order every transaction uses (partitions.hpp), counts last.
                if (!batch.empty()) {
                    check_not_stored(tx, batch);
                    insert_requests(tx, batch);
                    insert_mutations(tx, batch);
                    insert_request_models(tx, batch);
                    failures::write_rows(tx, failure_rows, started_at);
                    add_counters(tx, batch);
                }
                if (!rollups.items.empty()) merge_rollups(tx, rollups);
                if (!conflict_delta.empty()) add_conflict_counts(tx, conflict_delta);  // most batches have none
                failures::add_counts(tx, failure_delta);
                try {
                    tx.commit();
                } catch (const pqxx::in_doubt_error&) {
                    for (const auto& b : batch) in_doubt_.push_back(b.request.id);
                    throw;
                }
            });
        } catch (...) {
            // A day another process dropped, or DDL rolled back: ask the catalog again next time.
            partitions_.forget_all();
            throw;
        }
    }

    Page<RequestRecord> list_requests(const RequestFilter& f, const PageRequest& page) override {
        validate_page(page);
        // With a model filter the scan is driven by request_models, ordered the same way.
        const bool by_model = !f.model.empty();
        const std::string t = by_model ? "m.started_at" : "r.started_at";
        const std::string id = by_model ? "m.request_id" : "r.id";
        Params p;
        std::string sql = std::string("SELECT ") + request_summary_columns;
        if (by_model)
            sql +=
                " FROM requests r JOIN request_models m ON r.id = m.request_id AND r.started_at = m.started_at"
                " WHERE m.model = " +
                p.bytes(f.model);
        else
            sql += " FROM requests r WHERE TRUE";
        if (f.kind) sql += " AND r.kind = " + p.text(to_string(*f.kind));
        if (!f.client_id.empty()) sql += " AND r.client_id = " + p.bytes(f.client_id);
        if (!f.instance.empty()) sql += " AND r.instance = " + p.bytes(f.instance);
        // Outcomes are literals so that the planner can pick the partial indexes; the names
        // come from a closed enum, never from input.
        if (f.outcome) sql += std::string(" AND r.outcome = '") + to_string(*f.outcome) + "'";
        if (f.failed_only) sql += " AND r.outcome IN ('rejected', 'error')";
        if (f.from_us) sql += " AND " + t + " >= " + p.i64(*f.from_us);
        newest_first(sql, p, t, id, f.to_us, page);
        return read("list_requests", [&](pqxx::transaction_base& tx) {
            Page<RequestRecord> out;
            for (const auto& row : p.exec(tx, sql)) out.items.push_back(read_request(row, false));
            finish_page(out, page.limit, [](const RequestRecord& r) { return CursorKey{r.started_at_us, r.id}; });
            return out;
        });
    }

    std::optional<RequestRecord> get_request(std::string_view id) override {
        if (!detail::is_pageable_id(id)) return std::nullopt;  // never stored
        Params p;
        const std::string sql = std::string("SELECT ") + request_summary_columns + request_detail_columns +
                                " FROM requests r WHERE r.id = " + p.text(id);
        return read("get_request", [&](pqxx::transaction_base& tx) -> std::optional<RequestRecord> {
            const auto rows = p.exec(tx, sql);
            if (rows.empty()) return std::nullopt;
            return read_request(rows[0], true);
        });
    }

    Page<MutationRecord> list_mutations(std::string_view request_id, const MutationFilter& f,
                                        const PageRequest& page) override {
        validate_page(page);
        if (!detail::is_pageable_id(request_id)) return {};
        Params p;
        std::string sql =
            std::string("SELECT ") + mutation_columns + " FROM mutations m WHERE m.request_id = " + p.text(request_id);
        if (f.outcome) sql += " AND m.outcome = " + p.text(to_string(*f.outcome));
        if (f.conflicted_only) sql += " AND m.has_conflict";
        if (!f.model.empty()) sql += " AND m.model = " + p.bytes(f.model);
        if (!page.cursor.empty()) {
            auto c = decode_cursor(page.cursor);
            sql += " AND (m.seq, m.id) > (" + p.i64(c.primary) + ", " + p.text(c.id) + ")";
        }
        sql += " ORDER BY m.seq, m.id LIMIT " + p.i64(static_cast<std::int64_t>(page.limit + 1));
        return read("list_mutations", [&](pqxx::transaction_base& tx) {
            Page<MutationRecord> out;
            for (const auto& row : p.exec(tx, sql)) out.items.push_back(read_mutation(row));
            finish_page(out, page.limit, [](const MutationRecord& m) { return CursorKey{m.seq, m.id}; });
            return out;
        });
    }

    std::optional<MutationRecord> get_mutation(std::string_view id) override {
        if (!detail::is_pageable_id(id)) return std::nullopt;
        Params p;
        const std::string sql =
            std::string("SELECT ") + mutation_columns + " FROM mutations m WHERE m.id = " + p.text(id);
        return read("get_mutation", [&](pqxx::transaction_base& tx) -> std::optional<MutationRecord> {
            const auto rows = p.exec(tx, sql);
            if (rows.empty()) return std::nullopt;
            return read_mutation(rows[0]);
        });
    }

    std::vector<Rollup> read_rollups(Micros width_us, Micros from_us, Micros to_us, std::string_view instance,
                                     bool breakdowns) override {
        if (width_us <= 0 || from_us >= to_us) return {};
        // A range of the primary key, already in (start_us, instance) order. Without breakdowns
        // the two map columns are not even fetched.
        std::string columns = rollup_columns;
        if (!breakdowns) columns = columns.substr(0, columns.rfind(", models"));
        Params p;
        std::string sql = "SELECT " + columns + " FROM rollups WHERE width_us = " + p.i64(width_us) +
                          " AND start_us >= " + p.i64(from_us) + " AND start_us < " + p.i64(to_us);
        if (!instance.empty()) sql += " AND instance = " + p.bytes(instance);
        sql += " ORDER BY start_us, instance";
        return read("read_rollups", [&](pqxx::transaction_base& tx) {
            std::vector<Rollup> out;
            for (const auto& row : p.exec(tx, sql)) out.push_back(read_rollup(row, breakdowns));
            return out;
        });
    }

    std::size_t prune_rollups(Micros before_us) override {
        std::lock_guard lock(write_mutex_);
        return run(writer_, "prune_rollups", [&](pqxx::connection& c) {
            pqxx::work tx(c);
            std::size_t deleted = 0;
            // One range of the primary key per stored width (a handful).
            for (const auto& row : tx.exec("SELECT DISTINCT width_us FROM rollups")) {
                const Micros width = i64(row[0]);
                if (width <= 0 || before_us < INT64_MIN + width) continue;  // no bucket ends that early
                deleted += tx.exec_params("DELETE FROM rollups WHERE width_us = $1 AND start_us <= $2", width,
                                          static_cast<std::int64_t>(before_us - width))  // start + width <= before
                               .affected_rows();
            }
            // Conflict pattern hours and failure counts follow the same retention; not counted.
            Micros last_hour = 0;
            if (detail::last_ended_conflict_hour(before_us, last_hour))
                for (const char* table : {"conflict_hour_clients", "conflict_hour_entities", "conflict_hour_fields"})
                    tx.exec_params(std::string("DELETE FROM ") + table + " WHERE hour_start <= $1",
                                   static_cast<std::int64_t>(last_hour));
            detail::pg::failures::prune(tx, before_us);
            tx.commit();
            return deleted;
        });
    }

    Page<ConflictRecord> list_conflicts(const ConflictFilter& f, const PageRequest& page) override {
        validate_page(page);
        Params p;
        std::string sql = std::string("SELECT ") + conflict_columns + conflict_from + " WHERE m.has_conflict";
        if (!f.model.empty()) sql += " AND m.model = " + p.bytes(f.model);
        if (!f.client_id.empty()) sql += " AND m.client_id = " + p.bytes(f.client_id);
        if (!f.entity_id.empty()) sql += " AND m.entity_id = " + p.bytes(f.entity_id);
        if (!f.instance.empty()) sql += " AND m.instance = " + p.bytes(f.instance);
        if (!f.resolver.empty()) sql += " AND m.conflict_resolver = " + p.bytes(f.resolver);
        if (f.resolution) sql += " AND m.conflict_resolution = " + p.text(to_string(*f.resolution));
        if (f.from_us) sql += " AND m.started_at >= " + p.i64(*f.from_us);
        newest_first(sql, p, "m.started_at", "m.id", f.to_us, page);
        return read("list_conflicts", [&](pqxx::transaction_base& tx) {
            Page<ConflictRecord> out;
            for (const auto& row : p.exec(tx, sql)) out.items.push_back(read_conflict(row));
            finish_page(out, page.limit, [](const ConflictRecord& c) { return CursorKey{c.started_at_us, c.id}; });
            return out;
        });
    }

    std::optional<ConflictRecord> get_conflict(std::string_view id) override {
        if (!detail::is_pageable_id(id)) return std::nullopt;
        Params p;
        const std::string sql = std::string("SELECT ") + conflict_columns + conflict_from +
                                " WHERE m.id = " + p.text(id) + " AND m.has_conflict";
        return read("get_conflict", [&](pqxx::transaction_base& tx) -> std::optional<ConflictRecord> {
            const auto rows = p.exec(tx, sql);
            if (rows.empty()) return std::nullopt;
            return read_conflict(rows[0]);
        });
    }

    ConflictPatterns conflict_patterns(const ConflictPatternQuery& q) override {
        const auto range = detail::conflict_pattern_range(q);
        ConflictPatterns out;
        std::map<Micros, std::uint64_t> per_hour;
        if (range.hours > 0) {
            auto where = [&](Params& p) {
                std::string w =
                    " WHERE hour_start >= " + p.i64(range.from_us) + " AND hour_start < " + p.i64(range.to_us);
                if (!q.instance.empty()) w += " AND instance = " + p.bytes(q.instance);
                return w;
            };
            const std::int64_t top = static_cast<std::int64_t>(std::min<std::size_t>(q.top_n, INT64_MAX));
            // One snapshot: every list comes from the same committed batches.
            read_snapshot("conflict_patterns", [&](pqxx::transaction_base& tx) {
                // One pass over the (hour, model, client) rows feeds the hour, model, client
                // and model × client lists; the shared keep_top orders and cuts them.
                Params p;
                for (const auto& row : p.exec(tx,
                                              "SELECT GROUPING(hour_start), GROUPING(model), GROUPING(client_id), "
                                              "hour_start, model, client_id, sum(conflicts)::int8 "
                                              "FROM conflict_hour_clients" +
                                                  where(p) +
                                                  " GROUP BY GROUPING SETS ((hour_start), (model), (client_id), "
                                                  "(model, client_id))")) {
                    const bool by_hour = row[0].as<int>() == 0, by_model = row[1].as<int>() == 0,
                               by_client = row[2].as<int>() == 0;
                    const std::uint64_t n = count(row[6]);
                    if (by_hour)
                        per_hour[i64(row[3])] += n;
                    else if (by_model && by_client)
                        out.by_model_client.push_back({bytes(row[4]), bytes(row[5]), n});
                    else if (by_model)
                        out.by_model.push_back({bytes(row[4]), n});
                    else if (by_client)
                        out.by_client.push_back({bytes(row[5]), n});
                }
                detail::keep_top(out.by_model, q.top_n);
                detail::keep_top(out.by_client, q.top_n);
                detail::keep_top(out.by_model_client, q.top_n);
                if (q.top_n == 0) return;
                // The documented orders (detail::conflict_order) in SQL: bytea compares bytewise.
                Params e;
                for (const auto& row : e.exec(tx,
                                              "SELECT model, entity_id, sum(conflicts)::int8 AS n, max(last_seen) "
                                              "AS seen FROM conflict_hour_entities" +
                                                  where(e) +
                                                  " GROUP BY model, entity_id ORDER BY n DESC, seen DESC, "
                                                  "entity_id, model LIMIT " +
                                                  e.i64(top)))
                    out.top_entities.push_back({bytes(row[0]), bytes(row[1]), count(row[2]), i64(row[3])});
                Params fp;
                for (const auto& row : fp.exec(tx,
                                               "SELECT model, field, sum(conflicts)::int8 AS n FROM "
                                               "conflict_hour_fields" +
                                                   where(fp) +
                                                   " GROUP BY model, field ORDER BY n DESC, model, "
                                                   "field LIMIT " +
                                                   fp.i64(top)))
                    out.top_fields.push_back({bytes(row[0]), bytes(row[1]), count(row[2])});
            });
        }
        detail::fill_conflict_buckets(out, range, per_hour);
        return out;
    }

    Page<FailureRecord> list_failures(const FailureFilter& filter, const PageRequest& page) override {
        return read("list_failures", [&](pqxx::transaction_base& tx) { return failures::list(tx, filter, page); });
    }
    std::vector<FailureGroup> failure_groups(const FailureGroupQuery& query, const FailureThresholds& t) override {
        return read_snapshot("failure_groups",
                             [&](pqxx::transaction_base& tx) { return failures::groups(tx, query, t); });
    }
    std::optional<FailureGroup> failure_group(std::string_view fingerprint, std::string_view instance, Micros now_us,
                                              const FailureThresholds& t) override {
        return read_snapshot("failure_group", [&](pqxx::transaction_base& tx) {
            return failures::group(tx, fingerprint, instance, now_us, t, true);
        });
    }
    Page<ClientSummary> list_clients(const ClientFilter& filter, const PageRequest& page,
                                     const FailureThresholds& t) override {
        return read("list_clients", [&](pqxx::transaction_base& tx) { return failures::clients(tx, filter, page, t); });
    }
    std::optional<ClientSummary> get_client(std::string_view client_id, const FailureThresholds& t) override {
        return read("get_client", [&](pqxx::transaction_base& tx) { return failures::client(tx, client_id, t); });
    }
    std::vector<ClientModelCounts> client_models(std::string_view client_id) override {
        return read("client_models",
                    [&](pqxx::transaction_base& tx) { return failures::client_models(tx, client_id); });
    }
    std::vector<PoisonMutation> poison_mutations(const PoisonQuery& query, const FailureThresholds& t) override {
        return read("poison_mutations", [&](pqxx::transaction_base& tx) { return failures::poison(tx, query, t); });
    }

    Page<ReplayLink> list_replays(std::string_view original_id, const PageRequest& page) override {
        validate_page(page);
        Params p;
        std::string sql =
            "SELECT r.id, r.replay_of, r.started_at, r.http_status, r.outcome, r.replayed_by, r.replayed_at, "
            "r.replay_id_map, r.replay_skipped FROM requests r WHERE r.replay_of = " +
            p.bytes(original_id) + " AND r.replay_of <> ''::bytea";  // repeats the partial index's term
        newest_first(sql, p, "r.started_at", "r.id", std::nullopt, page);
        return read("list_replays", [&](pqxx::transaction_base& tx) {
            Page<ReplayLink> out;
            for (const auto& row : p.exec(tx, sql)) {
                ReplayLink l;
                l.id = text(row[0]);
                l.replay_of = bytes(row[1]);
                l.started_at_us = i64(row[2]);
                l.http_status = row[3].as<int>();
                auto outcome = parse_request_outcome(text(row[4]));
                if (!outcome) decode.corrupt("requests.outcome");
                l.outcome = *outcome;
                if (!row[6].is_null()) {
                    ReplayAudit a;
                    a.by = bytes(row[5]);
                    a.at_us = i64(row[6]);
                    a.mutation_id_map = decode.id_map(bytes(row[7]), "requests.replay_id_map");
                    a.skipped = decode.skipped(bytes(row[8]), "requests.replay_skipped");
                    l.audit = std::move(a);
                }
                out.items.push_back(std::move(l));
            }
            finish_page(out, page.limit, [](const ReplayLink& l) { return CursorKey{l.started_at_us, l.id}; });
            return out;
        });
    }

    std::uint64_t count_requests() override { return read_counter("requests"); }
    std::uint64_t count_mutations() override { return read_counter("mutations"); }

    // Whole days first: every day partition that ended at or before the age cutoff is dropped
    // (one short transaction per day), and the call returns the requests those days held, which
    // can be more than max_requests_per_call. What budget is left deletes rows oldest first, as
    // the other backends do: the day straddling the cutoff, and whatever max_requests asks for.
    // (Days emptied that way are dropped by a later call: see drop_days.)
    std::size_t prune(const RetentionPolicy& policy, Micros now_us, std::size_t max_requests_per_call) override {
        std::lock_guard lock(write_mutex_);
        if (policy.max_tracked_mutations > 0)
            run(writer_, "prune", [&](pqxx::connection& c) {
                pqxx::work tx(c);
                failures::trim_poison(tx, policy.max_tracked_mutations);
                tx.commit();
            });
        if (max_requests_per_call == 0 || !policy.limits_requests()) return 0;
        return run(writer_, "prune", [&](pqxx::connection& c) {
            const std::optional<Micros> cutoff = policy.age_cutoff(now_us);
            const std::size_t dropped = drop_days(c, cutoff, now_us);
            if (dropped >= max_requests_per_call) return dropped;
            return dropped + delete_oldest(c, policy, cutoff, max_requests_per_call - dropped);
        });
    }

private:
    static int random_shard() {
        std::random_device rd;
        return static_cast<int>(rd() % 1024);
    }

    // Reads are safe to repeat: when the reader's connection turns out to have died since its
    // last use (a server restart), the read runs once more on a fresh one, so a dashboard
    // does not answer 503 just because the database restarted while it was idle.
    template <class F>
    auto on_reader(const char* what, F&& body) -> decltype(body(std::declval<pqxx::connection&>())) {
        for (int attempt = 0;; ++attempt) {
            const bool was_connected = reader_.connected();
            try {
                return run(reader_, what, body);
            } catch (const StorageError& e) {
                if (attempt > 0 || !was_connected || reader_.connected() || !e.transient()) throw;
            }
        }
    }

    template <class F>
    auto read(const char* what, F&& body) -> decltype(body(std::declval<pqxx::transaction_base&>())) {
        std::lock_guard lock(read_mutex_);
        return on_reader(what, [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return body(tx);
        });
    }

    // Several reads from one snapshot.
    template <class F>
    auto read_snapshot(const char* what, F&& body) -> decltype(body(std::declval<pqxx::transaction_base&>())) {
        std::lock_guard lock(read_mutex_);
        return on_reader(what, [&](pqxx::connection& c) {
            pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
            if constexpr (std::is_void_v<decltype(body(tx))>) {
                body(tx);
                tx.commit();
            } else {
                auto out = body(tx);
                tx.commit();
                return out;
            }
        });
    }

    std::uint64_t read_counter(const char* column) {
        return read("count", [&](pqxx::transaction_base& tx) {
            return count(tx.exec(std::string("SELECT coalesce(sum(") + column + "), 0)::int8 FROM counters")[0][0]);
        });
    }

    // The connection broke during the COMMIT of the last batch, so nobody knows whether it was
    // stored; the recorder retries it. True when this is that batch and it was: the retry then
    // succeeds without writing (and counting) anything twice.
    bool committed_before(pqxx::connection& c, const std::vector<CapturedRequest>& batch) {
        if (in_doubt_.empty()) return false;
        std::vector<std::string> ids;
        for (const auto& b : batch) ids.push_back(b.request.id);
        const bool same = ids == in_doubt_;
        in_doubt_.clear();
        if (!same) return false;
        pqxx::read_transaction tx(c);
        Params p;
        const auto stored =
            count(p.exec(tx, "SELECT count(*) FROM requests WHERE id = ANY(" + p.text_array(ids) + ")")[0][0]);
        tx.commit();
        return stored == ids.size();
    }

    // Ids are unique per (id, day) in the indexes; these two checks make them unique, full stop.
    static void check_unique_in_batch(const std::vector<CapturedRequest>& batch) {
        std::set<std::string_view> requests, mutations;
        for (const auto& c : batch) {
            if (!requests.insert(c.request.id).second)
                throw StorageError("postgres: write_batch: the batch holds a request id twice", false);
            for (const auto& m : c.mutations)
                if (!mutations.insert(m.id).second)
                    throw StorageError("postgres: write_batch: the batch holds a mutation id twice", false);
        }
    }

    static void check_not_stored(pqxx::transaction_base& tx, const std::vector<CapturedRequest>& batch) {
        std::vector<std::string> requests, mutations;
        for (const auto& c : batch) {
            requests.push_back(c.request.id);
            for (const auto& m : c.mutations) mutations.push_back(m.id);
        }
        Params p;
        const auto found = p.exec(tx, "SELECT 'request' FROM requests WHERE id = ANY(" + p.text_array(requests) +
                                          ") UNION ALL SELECT 'mutation' FROM mutations WHERE id = ANY(" +
                                          p.text_array(mutations) + ") LIMIT 1");
        if (!found.empty())
            throw StorageError("postgres: write_batch: a " + text(found[0][0]) + " id of the batch is already stored",
                               false);
    }

    // The batch's rows go as one array per column (ArrayRows): a VALUES list of thousands of
    // mutations costs the server more to parse and plan than to store.
    static void insert_requests(pqxx::transaction_base& tx, const std::vector<CapturedRequest>& batch) {
        using T = ArrayRows::Type;
        constexpr T b = T::bytea, t = T::text, i = T::int8, l = T::boolean;
        ArrayRows ins(tx,
                      std::string("INSERT INTO requests (") + strip_alias(request_summary_columns) +
                          strip_alias(request_detail_columns) + ")",
                      {t, t, b, b, b, i, i, i, t, i, i, i, i, i, b, i, i, i, l,
                       l, l, l, l, l, l, b, b, b, i, b, b, b, b, b, b, i, b, b});
        for (const auto& c : batch) {
            const RequestRecord& r = c.request;
            const ReplayAudit* a = r.replay_audit ? &*r.replay_audit : nullptr;
            ins.text(r.id)
                .text(to_string(r.kind))
                .bytes(r.client_id)
                .bytes(r.client_version)
                .bytes(r.instance)
                .i64(r.started_at_us)
                .i64(r.duration_us)
                .i64(r.http_status)
                .text(to_string(r.outcome))
                .i64(r.mutation_count)
                .i64(r.applied)
                .i64(r.rejected)
                .i64(r.conflicts)
                .i64(r.snapshots)
                .bytes(columns::strings_json(r.models))
                .opt_i64(r.last_sync_cursor)
                .opt_i64(r.new_sync_cursor)
                .opt_i64(r.pull_limit);
            if (r.has_more)
                ins.boolean(*r.has_more);
            else
                ins.null();
            ins.boolean(r.request_truncated)
                .boolean(r.response_truncated)
                .boolean(r.request_body_dropped)
                .boolean(r.response_body_dropped)
                .boolean(r.request_body_scrubbed)
                .boolean(r.response_body_scrubbed);
            if (r.request_parse_error)
                ins.bytes(columns::parse_failure_json(*r.request_parse_error));
            else
                ins.null();
            if (r.response_parse_error)
                ins.bytes(columns::parse_failure_json(*r.response_parse_error));
            else
                ins.null();
            ins.bytes(r.replay_of)
                .i64(r.recorded_at_us)
                .bytes(columns::headers_json(r.headers))
                .bytes(columns::strings_json(r.redacted_paths))
                .bytes(columns::notes_json(r.notes))
                .bytes(r.request_body)
                .bytes(r.response_body);
            if (a)
                ins.bytes(a->by)
                    .i64(a->at_us)
                    .bytes(columns::id_map_json(a->mutation_id_map))
                    .bytes(columns::skipped_json(a->skipped));
            else
                ins.null().null().null().null();
            ins.end_row();
        }
        ins.finish();
    }

    static void insert_mutations(pqxx::transaction_base& tx, const std::vector<CapturedRequest>& batch) {
        using T = ArrayRows::Type;
        constexpr T b = T::bytea, t = T::text, i = T::int8, l = T::boolean;
        ArrayRows ins(tx,
                      std::string("INSERT INTO mutations (request_started_at, ") + strip_alias(mutation_columns) + ")",
                      {i, t, t, i, b, b, i, b, b, b, b, i, i, t, b, l, l, b, b, t, b, l, l, b, b, b, b, b, b, b, b, b});
        for (const auto& c : batch) {
            const RequestRecord& r = c.request;
            for (const auto& m : c.mutations) {
                const ConflictInfo* k = m.conflict ? &*m.conflict : nullptr;
                static const std::string none;
                ins.i64(r.started_at_us)
                    .text(m.id)
                    .text(r.id)  // the batch grouping is authoritative
                    .i64(m.seq)
                    .bytes(m.client_id)
                    .bytes(m.instance)
                    .i64(m.started_at_us)
                    .bytes(m.mutation_id)
                    .bytes(m.entity_id)
                    .bytes(m.model)
                    .bytes(m.operation)
                    .opt_i64(m.version)
                    .opt_i64(m.client_timestamp_ms)
                    .text(to_string(m.outcome))
                    .bytes(m.reason)
                    .boolean(m.payload_redacted)
                    .boolean(k != nullptr)
                    .bytes(k ? k->reason : none)
                    .bytes(k ? k->resolver : none);
                if (k && k->resolution)
                    ins.text(to_string(*k->resolution));
                else
                    ins.null();
                ins.bytes(k ? k->server_updated_at : none)
                    .boolean(k && k->reported_by_host)
                    .boolean(k && k->reported_in_response)
                    .bytes(m.validation_json)
                    .bytes(m.rejection_data_json)
                    .bytes(columns::changes_json(m.payload_diff))
                    .bytes(columns::changes_json(m.change_diff))
                    .bytes(k ? k->server_state_json : none)
                    .bytes(m.state_before_json)
                    .bytes(m.state_after_json)
                    .bytes(m.payload_json)
                    .bytes(k ? columns::changes_json(k->fields) : "[]")
                    .end_row();
            }
        }
        ins.finish();
    }

    // The model filter's index: request models plus the models of its mutations.
    static void insert_request_models(pqxx::transaction_base& tx, const std::vector<CapturedRequest>& batch) {
        using T = ArrayRows::Type;
        ArrayRows ins(tx, "INSERT INTO request_models (model, started_at, request_id)", {T::bytea, T::int8, T::text});
        for (const auto& c : batch) {
            std::set<std::string_view> models(c.request.models.begin(), c.request.models.end());
            for (const auto& m : c.mutations) models.insert(m.model);
            for (auto model : models) {
                if (model.empty()) continue;  // "" means "no filter", never a model
                ins.bytes(model).i64(c.request.started_at_us).text(c.request.id).end_row();
            }
        }
        ins.finish();
    }

    void add_counters(pqxx::transaction_base& tx, const std::vector<CapturedRequest>& batch) {
        std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> per_day;
        for (const auto& c : batch) {
            auto& d = per_day[day_of(c.request.started_at_us)];
            d.first += 1;
            d.second += static_cast<std::int64_t>(c.mutations.size());
        }
        add_counters(tx, per_day);
    }

    void add_counters(pqxx::transaction_base& tx,
                      const std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>>& per_day) {
        MultiRow up(tx, "INSERT INTO counters AS t (day, shard, requests, mutations)",
                    " ON CONFLICT (day, shard) DO UPDATE SET requests = t.requests + excluded.requests, "
                    "mutations = t.mutations + excluded.mutations");
        for (const auto& [day, n] : per_day) {
            auto& p = up.params();
            up.add({p.i64(day), p.i64(shard_), p.i64(n.first), p.i64(n.second)});
        }
        up.finish();
    }

    // Rollups merge in C++ (histograms, the client cap of Rollup::merge): each touched row is
    // created empty when missing, locked in key order, merged and written back, all inside the
    // batch's transaction, so that a concurrent writer of the same row waits for it.
    static void merge_rollups(pqxx::transaction_base& tx, const RollupBatch& rollups) {
        using Key = std::tuple<Micros, Micros, std::string>;
        std::map<Key, Rollup> merged;
        for (const auto& item : rollups.items) merged.try_emplace(Key{item.width_us, item.start_us, item.instance});
        {
            MultiRow ins(
                tx,
                "INSERT INTO rollups (width_us, start_us, instance, requests, pushes, pulls, mutations, "
                "snapshots, applied, rejected, conflicts, conflict_requests, failed_requests, duration_sum_us, "
                "duration_max_us, latency, models, clients)",
                " ON CONFLICT DO NOTHING");
            for (const auto& [key, r] : merged) {
                auto& p = ins.params();
                ins.add({p.i64(std::get<0>(key)), p.i64(std::get<1>(key)), p.bytes(std::get<2>(key)), "0", "0", "0",
                         "0", "0", "0", "0", "0", "0", "0", "0", "0", "''", "'{}'::bytea", "'{}'::bytea"});
            }
            ins.finish();
        }
        Params p;
        std::string keys;
        for (const auto& [key, r] : merged)
            keys += (keys.empty() ? "" : ", ") +
                    tuple({p.i64(std::get<0>(key)), p.i64(std::get<1>(key)), p.bytes(std::get<2>(key))});
        for (const auto& row : p.exec(tx, std::string("SELECT ") + rollup_columns +
                                              " FROM rollups WHERE (width_us, start_us, instance) IN (" + keys +
                                              ") ORDER BY width_us, start_us, instance FOR UPDATE")) {
            Rollup stored = read_rollup(row, true);
            merged[Key{stored.width_us, stored.start_us, stored.instance}] = std::move(stored);
        }
        for (const auto& item : rollups.items)  // batch order, as the other backends merge
            merged.at(Key{item.width_us, item.start_us, item.instance}).merge(item, rollups.max_clients_per_bucket);
        MultiRow up(tx,
                    "UPDATE rollups t SET requests = v.requests, pushes = v.pushes, pulls = v.pulls, "
                    "mutations = v.mutations, snapshots = v.snapshots, applied = v.applied, rejected = v.rejected, "
                    "conflicts = v.conflicts, conflict_requests = v.conflict_requests, "
                    "failed_requests = v.failed_requests, duration_sum_us = v.duration_sum_us, "
                    "duration_max_us = v.duration_max_us, latency = v.latency, models = v.models, "
                    "clients = v.clients FROM (",
                    ") AS v (width_us, start_us, instance, requests, pushes, pulls, mutations, snapshots, applied, "
                    "rejected, conflicts, conflict_requests, failed_requests, duration_sum_us, duration_max_us, "
                    "latency, models, clients) "
                    "WHERE t.width_us = v.width_us AND t.start_us = v.start_us AND t.instance = v.instance");
        for (const auto& [key, r] : merged) {
            auto& q = up.params();
            up.add({q.i64(r.width_us), q.i64(r.start_us), q.bytes(r.instance), q.u64(r.requests), q.u64(r.pushes),
                    q.u64(r.pulls), q.u64(r.mutations), q.u64(r.snapshots), q.u64(r.applied), q.u64(r.rejected),
                    q.u64(r.conflicts), q.u64(r.conflict_requests), q.u64(r.failed_requests), q.u64(r.duration_sum_us),
                    q.u64(r.duration_max_us), q.text(r.latency.encode()), q.bytes(columns::models_json(r.models)),
                    q.bytes(columns::clients_json(r.clients))});
        }
        up.finish();
    }

    static void add_conflict_counts(pqxx::transaction_base& tx, const detail::ConflictCounts& d) {
        auto upsert = [&](const char* table, const char* key, const auto& rows, const char* extra_columns,
                          const char* extra_update, auto&& cells) {
            if (rows.empty()) return;
            MultiRow up(tx,
                        std::string("INSERT INTO ") + table + " AS t (hour_start, instance, model, " + key +
                            ", conflicts" + extra_columns + ")",
                        std::string(" ON CONFLICT (hour_start, instance, model, ") + key +
                            ") DO UPDATE SET conflicts = t.conflicts + excluded.conflicts" + extra_update);
            for (const auto& [k, v] : rows) {
                auto& p = up.params();
                cells(up, p, k, v);
            }
            up.finish();
        };
        auto key_cells = [](Params& p, const detail::ConflictHourKey& k) {
            return std::make_tuple(p.i64(std::get<0>(k)), p.bytes(std::get<1>(k)), p.bytes(std::get<2>(k)),
                                   p.bytes(std::get<3>(k)));
        };
        auto counted = [&](MultiRow& up, Params& p, const detail::ConflictHourKey& k, std::uint64_t n) {
            auto [hour, instance, model, key] = key_cells(p, k);
            up.add({hour, instance, model, key, p.u64(n)});
        };
        upsert("conflict_hour_clients", "client_id", d.clients, "", "", counted);
        upsert("conflict_hour_entities", "entity_id", d.entities, ", last_seen",
               ", last_seen = GREATEST(t.last_seen, excluded.last_seen)",
               [&](MultiRow& up, Params& p, const detail::ConflictHourKey& k, const detail::ConflictEntityCount& e) {
                   auto [hour, instance, model, key] = key_cells(p, k);
                   up.add({hour, instance, model, key, p.u64(e.conflicts), p.i64(e.last_seen_us)});
               });
        upsert("conflict_hour_fields", "field", d.fields, "", "", counted);
    }

    // Drops whole days: those that ended at or before the age cutoff, and those that ended
    // before the oldest stored request and before now (emptied by max_requests; left alone they
    // would pile up, and every query without a time bound visits every partition). Returns the
    // requests the dropped days held.
    std::size_t drop_days(pqxx::connection& c, const std::optional<Micros>& cutoff, Micros now_us) {
        std::vector<std::int64_t> days;
        {
            pqxx::read_transaction tx(c);
            const auto oldest = opt_i64(tx.exec("SELECT min(started_at) FROM requests")[0][0]);
            for (auto day : Partitions::existing(tx)) {
                const auto r = day_range(day);
                if (!r.to) continue;
                const bool aged = cutoff && *r.to <= *cutoff;
                const bool empty = *r.to <= now_us && (!oldest || *r.to <= *oldest);
                if (aged || empty) days.push_back(day);
            }
            tx.commit();
        }
        std::size_t dropped = 0;
        for (auto day : days) {
            pqxx::work tx(c);
            // Dropping locks the parent tables: give up (transiently) rather than stall every
            // reader and writer behind a long query.
            tx.exec("SET LOCAL lock_timeout = '2s'");
            Partitions::drop(tx, day);  // waits for writers of that day, so the count below is final
            std::int64_t held = 0;      // shards may be negative (rows deleted by another shard's owner)
            for (const auto& row : tx.exec_params("DELETE FROM counters WHERE day = $1 RETURNING requests", day))
                held += i64(row[0]);
            tx.commit();
            partitions_.forget(day);
            dropped += static_cast<std::size_t>(std::max<std::int64_t>(0, held));
        }
        return dropped;
    }

    // Deletes at most `budget` requests oldest first (SQLite's rule: both limits select a prefix
    // of that order; the longer one wins), with their mutations, model rows and failure rows.
    std::size_t delete_oldest(pqxx::connection& c, const RetentionPolicy& policy, const std::optional<Micros>& cutoff,
                              std::size_t budget) {
        pqxx::work tx(c);
        const auto total = count(tx.exec("SELECT coalesce(sum(requests), 0)::int8 FROM counters")[0][0]);
        const std::uint64_t excess = policy.excess_requests(total);
        std::vector<std::string> ids;
        std::vector<std::int64_t> starts;
        for (const auto& row : tx.exec_params("SELECT id, started_at FROM requests ORDER BY started_at, id LIMIT $1",
                                              static_cast<std::int64_t>(std::min<std::size_t>(budget, INT64_MAX)))) {
            const Micros started = i64(row[1]);
            const bool too_old = cutoff && started < *cutoff;
            if (ids.size() >= excess && !too_old) break;
            ids.push_back(text(row[0]));
            starts.push_back(started);
        }
        if (ids.empty()) return 0;

        // A request's rows share its start (the partition key): both arrays prune partitions.
        std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> per_day;    // day -> -requests, -mutations
        std::set<std::tuple<std::string, std::int64_t, std::string>> model_rows;  // model, started_at, request
        Params p;
        const std::string id_list = p.text_array(ids), start_list = p.i64_array(starts);
        for (const auto& row : p.exec(tx, "DELETE FROM requests WHERE id = ANY(" + id_list + ") AND started_at = ANY(" +
                                              start_list + ") RETURNING id, started_at, models")) {
            per_day[day_of(i64(row[1]))].first -= 1;
            for (auto& model : decode.strings(bytes(row[2]), "requests.models"))
                model_rows.emplace(std::move(model), i64(row[1]), text(row[0]));
        }
        for (const auto& row :
             p.exec(tx, "DELETE FROM mutations WHERE request_id = ANY(" + id_list + ") AND request_started_at = ANY(" +
                            start_list + ") RETURNING request_id, request_started_at, model")) {
            per_day[day_of(i64(row[1]))].second -= 1;
            model_rows.emplace(bytes(row[2]), i64(row[1]), text(row[0]));
        }
        if (!model_rows.empty()) {
            std::vector<std::string> models, requests;
            std::vector<std::int64_t> times;
            for (const auto& [model, t, request] : model_rows) {
                models.push_back(model);
                times.push_back(t);
                requests.push_back(request);
            }
            Params m;
            m.exec(tx, "DELETE FROM request_models WHERE (model, started_at, request_id) IN (SELECT * FROM unnest(" +
                           m.bytes_array(models) + ", " + m.i64_array(times) + ", " + m.text_array(requests) + "))");
        }
        p.exec(tx, "DELETE FROM failures WHERE request_id = ANY(" + id_list + ") AND request_started_at = ANY(" +
                       start_list + ")");
        add_counters(tx, per_day);
        tx.commit();
        return ids.size();
    }

    // "r.id, r.kind" -> "id, kind": the INSERT uses the same column lists as the SELECTs.
    static std::string strip_alias(const char* cols) {
        std::string out(cols);
        for (const char* alias : {"r.", "m."})
            for (std::size_t p; (p = out.find(alias)) != std::string::npos;) out.erase(p, 2);
        return out;
    }

    const Target target_;
    std::mutex write_mutex_;
    Session writer_;
    Partitions partitions_;              // guarded by write_mutex_, like the writer
    std::vector<std::string> in_doubt_;  // guarded by write_mutex_: see committed_before
    std::mutex read_mutex_;
    Session reader_;
    const int shard_;
};

}  // namespace

std::shared_ptr<Storage> open_postgres_storage(const PostgresOptions& options) {
    return std::make_shared<PostgresStorage>(options);
}

}  // namespace tether
