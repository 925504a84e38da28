// SQLite storage: one file in WAL mode, a writer connection (batches, pruning) and a
// reader connection (dashboard queries), each behind its own mutex, so queries read the
// last committed snapshot without waiting for a batch to commit.
#include "tether/sqlite_storage.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <variant>

#include "detail/json.hpp"
#include "storage/conflict_counts.hpp"
#include "storage/keys.hpp"
#include "storage/record_columns.hpp"
#include "storage/failure_counts.hpp"
#include "storage/sqlite/failure_tables.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/sqlite_util.hpp"
#include "tether/errors.hpp"

namespace tether {
namespace detail {

const std::vector<std::string>& sqlite_migrations() {
    // Never edit a released step: append a new one. Detail-only and large columns come last
    // in each table so list queries never walk a body's overflow pages.
    static const std::vector<std::string> steps = {
        R"sql(
CREATE TABLE requests (
    id                     TEXT PRIMARY KEY NOT NULL,
    kind                   TEXT NOT NULL,
    client_id              TEXT NOT NULL,
    client_version         TEXT NOT NULL,
    instance               TEXT NOT NULL,
    started_at             INTEGER NOT NULL,  -- µs since the epoch, UTC
    duration_us            INTEGER NOT NULL,
    http_status            INTEGER NOT NULL,
    outcome                TEXT NOT NULL,     -- ok | conflict | rejected | error
    mutation_count         INTEGER NOT NULL,
    applied                INTEGER NOT NULL,
    rejected               INTEGER NOT NULL,
    conflicts              INTEGER NOT NULL,
    snapshots              INTEGER NOT NULL,
    models                 TEXT NOT NULL,     -- JSON array of strings
    last_sync_cursor       INTEGER,
    new_sync_cursor        INTEGER,
    pull_limit             INTEGER,
    has_more               INTEGER,
    request_truncated      INTEGER NOT NULL,
    response_truncated     INTEGER NOT NULL,
    request_body_dropped   INTEGER NOT NULL,
    response_body_dropped  INTEGER NOT NULL,
    request_body_scrubbed  INTEGER NOT NULL,
    response_body_scrubbed INTEGER NOT NULL,
    request_parse_error    TEXT,              -- JSON {message, offset, line, column}
    response_parse_error   TEXT,
    replay_of              TEXT NOT NULL,
    recorded_at            INTEGER NOT NULL,
    headers                TEXT NOT NULL,     -- JSON [{name, value}]
    redacted_paths         TEXT NOT NULL,     -- JSON array of strings
    notes                  TEXT NOT NULL,     -- JSON [{where, path, message, protocol_error}]
    request_body           BLOB NOT NULL,     -- exact bytes, may be invalid UTF-8 or hold NULs
    response_body          BLOB NOT NULL
);
-- Keyset order is (started_at DESC, id DESC); every filter index ends with it.
CREATE INDEX ix_requests_time     ON requests (started_at, id);
CREATE INDEX ix_requests_client   ON requests (client_id, started_at, id);
CREATE INDEX ix_requests_kind     ON requests (kind, started_at, id);
CREATE INDEX ix_requests_instance ON requests (instance, started_at, id);
-- Outcomes get partial indexes: free for the common 'ok' rows (that filter scans
-- ix_requests_time), and an IN over a full outcome index would need a sort.
CREATE INDEX ix_requests_conflict ON requests (started_at, id) WHERE outcome = 'conflict';
CREATE INDEX ix_requests_rejected ON requests (started_at, id) WHERE outcome = 'rejected';
CREATE INDEX ix_requests_error    ON requests (started_at, id) WHERE outcome = 'error';
CREATE INDEX ix_requests_failed   ON requests (started_at, id) WHERE outcome IN ('rejected', 'error');
CREATE INDEX ix_requests_replay   ON requests (replay_of) WHERE replay_of <> '';

CREATE TABLE mutations (
    id                         TEXT PRIMARY KEY NOT NULL,
    request_id                 TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    seq                        INTEGER NOT NULL,
    client_id                  TEXT NOT NULL,
    instance                   TEXT NOT NULL,
    started_at                 INTEGER NOT NULL,
    mutation_id                TEXT NOT NULL,
    entity_id                  TEXT NOT NULL,
    model                      TEXT NOT NULL,
    operation                  TEXT NOT NULL,
    version                    INTEGER,
    client_timestamp_ms        INTEGER,
    outcome                    TEXT NOT NULL,  -- applied | rejected | conflict | unknown
    reason                     TEXT NOT NULL,
    payload_redacted           INTEGER NOT NULL,
    has_conflict               INTEGER NOT NULL,
    conflict_reason            TEXT NOT NULL,
    conflict_resolver          TEXT NOT NULL,
    conflict_resolution        TEXT,           -- server_wins | client_wins | merged | rejected
    conflict_server_updated_at TEXT NOT NULL,
    conflict_by_host           INTEGER NOT NULL,
    conflict_in_response       INTEGER NOT NULL,
    validation                 TEXT NOT NULL,
    rejection_data             TEXT NOT NULL,
    payload_diff               TEXT NOT NULL,  -- JSON, field_changes_to_json
    change_diff                TEXT NOT NULL,
    conflict_server_state      TEXT NOT NULL,
    state_before               TEXT NOT NULL,
    state_after                TEXT NOT NULL,
    payload                    TEXT NOT NULL
);
CREATE INDEX ix_mutations_request ON mutations (request_id, seq, id);

-- Models a request pushed or pulled (its `models` plus its mutations' models), so the
-- model filter is an ordered index scan.
CREATE TABLE request_models (
    model      TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    PRIMARY KEY (model, started_at, request_id)
) WITHOUT ROWID;

-- Row counts kept per transaction: count(*) would scan an index of millions of rows.
CREATE TABLE counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('requests', 0), ('mutations', 0);
)sql",
        // 2: telemetry rollups, one row per (bucket width, bucket start, instance), added to by
        // each batch in its own transaction. Clustered on the key so that a dashboard window is
        // one range scan; scalars first, the breakdowns (up to kilobytes) last.
        R"sql(
CREATE TABLE rollups (
    width_us          INTEGER NOT NULL,
    start_us          INTEGER NOT NULL,  -- bucket start, µs since the epoch, a multiple of width_us
    instance          TEXT NOT NULL,
    requests          INTEGER NOT NULL,
    pushes            INTEGER NOT NULL,
    pulls             INTEGER NOT NULL,
    mutations         INTEGER NOT NULL,
    snapshots         INTEGER NOT NULL,
    applied           INTEGER NOT NULL,
    rejected          INTEGER NOT NULL,
    conflicts         INTEGER NOT NULL,
    conflict_requests INTEGER NOT NULL,
    failed_requests   INTEGER NOT NULL,
    duration_sum_us   INTEGER NOT NULL,
    duration_max_us   INTEGER NOT NULL,
    latency           TEXT NOT NULL,     -- LatencyHistogram::encode, "bin:count,…"
    models            TEXT NOT NULL,     -- JSON {model: [mutations, conflicts, failures]}
    clients           TEXT NOT NULL,     -- JSON {client: [requests, mutations, failures]}
    PRIMARY KEY (width_us, start_us, instance)
) WITHOUT ROWID;
)sql",
        // 3: conflicts. The fields client and server disagree on, partial indexes for the
        // conflict list (keyset order last, as for requests; no cost for the many mutations
        // without a conflict), and hourly conflict counts added to by each batch that holds a
        // conflict, in its transaction (storage/conflict_counts.hpp has the counting rules).
        R"sql(
ALTER TABLE mutations ADD COLUMN conflict_fields TEXT NOT NULL DEFAULT '[]';  -- JSON, field_changes_to_json
CREATE INDEX ix_mutations_conflict        ON mutations (started_at, id) WHERE has_conflict = 1;
CREATE INDEX ix_mutations_conflict_model  ON mutations (model, started_at, id) WHERE has_conflict = 1;
CREATE INDEX ix_mutations_conflict_client ON mutations (client_id, started_at, id) WHERE has_conflict = 1;
CREATE INDEX ix_mutations_conflict_entity ON mutations (entity_id, started_at, id) WHERE has_conflict = 1;

-- hour_start: µs since the epoch, a multiple of one hour. Pruned with the rollups.
CREATE TABLE conflict_hour_clients (
    hour_start INTEGER NOT NULL,
    instance   TEXT NOT NULL,
    model      TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    conflicts  INTEGER NOT NULL,
    PRIMARY KEY (hour_start, instance, model, client_id)
) WITHOUT ROWID;
CREATE TABLE conflict_hour_entities (
    hour_start INTEGER NOT NULL,
    instance   TEXT NOT NULL,
    model      TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    conflicts  INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,  -- latest started_at counted
    PRIMARY KEY (hour_start, instance, model, entity_id)
) WITHOUT ROWID;
CREATE TABLE conflict_hour_fields (
    hour_start INTEGER NOT NULL,
    instance   TEXT NOT NULL,
    model      TEXT NOT NULL,
    field      TEXT NOT NULL,     -- JSON Pointer
    conflicts  INTEGER NOT NULL,
    PRIMARY KEY (hour_start, instance, model, field)
) WITHOUT ROWID;

-- Conflicts already stored count too (their fields were not kept). The hour is the floor
-- of started_at, also for negative times, clamped like detail::conflict_hour.
CREATE TEMP VIEW conflict_hours_v2 AS
SELECT CASE WHEN started_at < -9223372036800000000 THEN -9223372036800000000
            WHEN started_at >= 9223372036800000000 THEN 9223372033200000000
            ELSE started_at - ((started_at % 3600000000) + 3600000000) % 3600000000 END AS hour_start,
       instance, model, client_id, entity_id, started_at
FROM mutations WHERE has_conflict = 1;
INSERT INTO conflict_hour_clients (hour_start, instance, model, client_id, conflicts)
SELECT hour_start, instance, model, client_id, count(*) FROM conflict_hours_v2
GROUP BY hour_start, instance, model, client_id;
INSERT INTO conflict_hour_entities (hour_start, instance, model, entity_id, conflicts, last_seen)
SELECT hour_start, instance, model, entity_id, count(*), max(started_at) FROM conflict_hours_v2
GROUP BY hour_start, instance, model, entity_id;
DROP VIEW conflict_hours_v2;
)sql",
        // 4: failures (rows, groups, clients, poison candidates); storage/sqlite/failure_tables.cpp.
        // Counts start with this version: databases of pre-release builds are not backfilled.
        sqlite::failure_tables_migration,
        // 5: per-entity conflict totals (within telemetry retention) that rank candidates for
        // top_entities, and an index to count one entity's hours; see conflict_patterns.
        R"sql(
CREATE TABLE conflict_entities (
    model     TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    conflicts INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (model, entity_id)
) WITHOUT ROWID;
CREATE INDEX ix_conflict_entities_rank ON conflict_entities (conflicts DESC, last_seen DESC);
CREATE INDEX ix_conflict_hour_entities_entity ON conflict_hour_entities (model, entity_id, hour_start);
INSERT INTO conflict_entities (model, entity_id, conflicts, last_seen)
SELECT model, entity_id, sum(conflicts), max(last_seen) FROM conflict_hour_entities GROUP BY model, entity_id;
)sql",
        // 6: replay audit. One row per replay the ReplayEngine recorded, written in the batch of
        // the replay request and deleted with it. A request's replays are listed through
        // requests.replay_of, so the index on it now ends with the keyset order.
        R"sql(
CREATE TABLE replay_audits (
    request_id      TEXT PRIMARY KEY NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    replayed_by     TEXT NOT NULL,
    replayed_at     INTEGER NOT NULL,  -- µs since the epoch, UTC
    mutation_id_map TEXT NOT NULL,     -- JSON [[captured, replayed], …] in push order
    skipped         TEXT NOT NULL      -- JSON [{seq, mutation_id, reason}]
) WITHOUT ROWID;
DROP INDEX ix_requests_replay;
CREATE INDEX ix_requests_replay ON requests (replay_of, started_at, id) WHERE replay_of <> '';
)sql",
    };
    return steps;
}

// Migration 3 spells out the hour rules of storage/conflict_counts.hpp as literals.
static_assert(conflict_hour_us == 3600000000 && min_conflict_hour_us == -9223372036800000000 &&
                  max_conflict_hour_us == 9223372033200000000 &&
                  max_conflict_hour_us + conflict_hour_us == 9223372036800000000,
              "conflict hour rules changed: a new migration must recount conflict_hour_* tables");

}  // namespace detail

int sqlite_schema_version() noexcept { return static_cast<int>(detail::sqlite_migrations().size()); }

namespace {

namespace json = boost::json;
using namespace detail::sqlite;


// JSON-valued columns: storage/record_columns.hpp, shared with the PostgreSQL backend.
using detail::columns::changes_json;
using detail::columns::clients_json;
using detail::columns::headers_json;
using detail::columns::id_map_json;
using detail::columns::models_json;
using detail::columns::notes_json;
using detail::columns::parse_failure_json;
using detail::columns::skipped_json;
constexpr detail::columns::Decoder decode("sqlite");

// Column lists in table order; list queries stop before the detail-only columns.
constexpr const char* request_summary_columns =
    "r.id, r.kind, r.client_id, r.client_version, r.instance, r.started_at, r.duration_us, r.http_status, "
    "r.outcome, r.mutation_count, r.applied, r.rejected, r.conflicts, r.snapshots, r.models, r.last_sync_cursor, "
    "r.new_sync_cursor, r.pull_limit, r.has_more, r.request_truncated, r.response_truncated, "
    "r.request_body_dropped, r.response_body_dropped, r.request_body_scrubbed, r.response_body_scrubbed, "
    "r.request_parse_error, r.response_parse_error, r.replay_of, r.recorded_at";
constexpr const char* request_detail_columns =
    ", r.headers, r.redacted_paths, r.notes, r.request_body, r.response_body";
constexpr int request_column_count = 34;

constexpr const char* mutation_columns =
    "id, request_id, seq, client_id, instance, started_at, mutation_id, entity_id, model, operation, version, "
    "client_timestamp_ms, outcome, reason, payload_redacted, has_conflict, conflict_reason, conflict_resolver, "
    "conflict_resolution, conflict_server_updated_at, conflict_by_host, conflict_in_response, validation, "
    "rejection_data, payload_diff, change_diff, conflict_server_state, state_before, state_after, payload, "
    "conflict_fields";
constexpr int mutation_column_count = 31;

// mutation_columns for read_mutation, with constants for what a ConflictRecord does not
// show (validation, rejection data, diffs, state after), then the request's client_version.
constexpr const char* conflict_columns =
    "m.id, m.request_id, m.seq, m.client_id, m.instance, m.started_at, m.mutation_id, m.entity_id, m.model, "
    "m.operation, m.version, m.client_timestamp_ms, m.outcome, m.reason, m.payload_redacted, m.has_conflict, "
    "m.conflict_reason, m.conflict_resolver, m.conflict_resolution, m.conflict_server_updated_at, "
    "m.conflict_by_host, m.conflict_in_response, '', '', '[]', '[]', m.conflict_server_state, m.state_before, '', "
    "m.payload, m.conflict_fields, r.client_version";
constexpr int conflict_client_version_column = 31;

constexpr const char* rollup_columns =
    "width_us, start_us, instance, requests, pushes, pulls, mutations, snapshots, applied, rejected, conflicts, "
    "conflict_requests, failed_requests, duration_sum_us, duration_max_us, latency, models, clients";
constexpr int rollup_column_count = 18;

std::string placeholders(int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += i ? ",?" : "?";
    return out;
}

RequestRecord read_request(SQLite::Statement& s, bool detail) {
    RequestRecord r;
    r.id = col_str(s, 0);
    auto kind = parse_exchange_kind(col_str(s, 1));
    if (!kind) corrupt("requests.kind");
    r.kind = *kind;
    r.client_id = col_str(s, 2);
    r.client_version = col_str(s, 3);
    r.instance = col_str(s, 4);
    r.started_at_us = s.getColumn(5).getInt64();
    r.duration_us = s.getColumn(6).getInt64();
    r.http_status = s.getColumn(7).getInt();
    auto outcome = parse_request_outcome(col_str(s, 8));
    if (!outcome) corrupt("requests.outcome");
    r.outcome = *outcome;
    r.mutation_count = col_u32(s, 9);
    r.applied = col_u32(s, 10);
    r.rejected = col_u32(s, 11);
    r.conflicts = col_u32(s, 12);
    r.snapshots = col_u32(s, 13);
    r.models = strings_from(col_str(s, 14), "requests.models");
    r.last_sync_cursor = col_opt(s, 15);
    r.new_sync_cursor = col_opt(s, 16);
    r.pull_limit = col_opt(s, 17);
    if (auto hm = col_opt(s, 18)) r.has_more = *hm != 0;
    r.request_truncated = col_bool(s, 19);
    r.response_truncated = col_bool(s, 20);
    r.request_body_dropped = col_bool(s, 21);
    r.response_body_dropped = col_bool(s, 22);
    r.request_body_scrubbed = col_bool(s, 23);
    r.response_body_scrubbed = col_bool(s, 24);
    if (!s.isColumnNull(25)) r.request_parse_error = decode.parse_failure(col_str(s, 25), "requests.request_parse_error");
    if (!s.isColumnNull(26))
        r.response_parse_error = decode.parse_failure(col_str(s, 26), "requests.response_parse_error");
    r.replay_of = col_str(s, 27);
    r.recorded_at_us = s.getColumn(28).getInt64();
    if (detail) {
        r.headers = decode.headers(col_str(s, 29), "requests.headers");
        r.redacted_paths = strings_from(col_str(s, 30), "requests.redacted_paths");
        r.notes = decode.notes(col_str(s, 31), "requests.notes");
        r.request_body = col_str(s, 32);
        r.response_body = col_str(s, 33);
    }
    return r;
}

MutationRecord read_mutation(SQLite::Statement& s) {
    MutationRecord m;
    m.id = col_str(s, 0);
    m.request_id = col_str(s, 1);
    m.seq = col_u32(s, 2);
    m.client_id = col_str(s, 3);
    m.instance = col_str(s, 4);
    m.started_at_us = s.getColumn(5).getInt64();
    m.mutation_id = col_str(s, 6);
    m.entity_id = col_str(s, 7);
    m.model = col_str(s, 8);
    m.operation = col_str(s, 9);
    m.version = col_opt(s, 10);
    m.client_timestamp_ms = col_opt(s, 11);
    auto outcome = parse_mutation_outcome(col_str(s, 12));
    if (!outcome) corrupt("mutations.outcome");
    m.outcome = *outcome;
    m.reason = col_str(s, 13);
    m.payload_redacted = col_bool(s, 14);
    if (col_bool(s, 15)) {
        ConflictInfo c;
        c.reason = col_str(s, 16);
        c.resolver = col_str(s, 17);
        if (!s.isColumnNull(18)) {
            c.resolution = parse_resolution(col_str(s, 18));
            if (!c.resolution) corrupt("mutations.conflict_resolution");
        }
        c.server_updated_at = col_str(s, 19);
        c.reported_by_host = col_bool(s, 20);
        c.reported_in_response = col_bool(s, 21);
        c.server_state_json = col_str(s, 26);
        c.fields = decode.changes(col_str(s, 30), "mutations.conflict_fields");
        m.conflict = std::move(c);
    }
    m.validation_json = col_str(s, 22);
    m.rejection_data_json = col_str(s, 23);
    m.payload_diff = decode.changes(col_str(s, 24), "mutations.payload_diff");
    m.change_diff = decode.changes(col_str(s, 25), "mutations.change_diff");
    m.state_before_json = col_str(s, 27);
    m.state_after_json = col_str(s, 28);
    m.payload_json = col_str(s, 29);
    return m;
}

// The replay_audits columns from `first` on: replayed_by, replayed_at, mutation_id_map, skipped.
constexpr const char* audit_columns = "a.replayed_by, a.replayed_at, a.mutation_id_map, a.skipped";

ReplayAudit read_audit(SQLite::Statement& s, int first) {
    ReplayAudit a;
    a.by = col_str(s, first);
    a.at_us = s.getColumn(first + 1).getInt64();
    a.mutation_id_map = decode.id_map(col_str(s, first + 2), "replay_audits.mutation_id_map");
    a.skipped = decode.skipped(col_str(s, first + 3), "replay_audits.skipped");
    return a;
}

// r.id, r.replay_of, r.started_at, r.http_status, r.outcome, then a.request_id (NULL without
// an audit) and audit_columns.
ReplayLink read_replay_link(SQLite::Statement& s) {
    ReplayLink l;
    l.id = col_str(s, 0);
    l.replay_of = col_str(s, 1);
    l.started_at_us = s.getColumn(2).getInt64();
    l.http_status = s.getColumn(3).getInt();
    auto outcome = parse_request_outcome(col_str(s, 4));
    if (!outcome) corrupt("requests.outcome");
    l.outcome = *outcome;
    if (!s.isColumnNull(5)) l.audit = read_audit(s, 6);
    return l;
}

ConflictRecord read_conflict(SQLite::Statement& s) {
    return detail::conflict_record(read_mutation(s), col_str(s, conflict_client_version_column));
}

Rollup read_rollup(SQLite::Statement& s, bool breakdowns = true) {
    static constexpr const char* counter_names[] = {
        "rollups.requests",          "rollups.pushes",          "rollups.pulls",           "rollups.mutations",
        "rollups.snapshots",         "rollups.applied",         "rollups.rejected",        "rollups.conflicts",
        "rollups.conflict_requests", "rollups.failed_requests", "rollups.duration_sum_us", "rollups.duration_max_us"};
    Rollup r;
    r.width_us = s.getColumn(0).getInt64();
    r.start_us = s.getColumn(1).getInt64();
    r.instance = col_str(s, 2);
    std::uint64_t* counters[] = {&r.requests,          &r.pushes,          &r.pulls,           &r.mutations,
                                 &r.snapshots,         &r.applied,         &r.rejected,        &r.conflicts,
                                 &r.conflict_requests, &r.failed_requests, &r.duration_sum_us, &r.duration_max_us};
    for (int i = 0; i < 12; ++i) {
        auto c = s.getColumn(3 + i);
        if (!c.isInteger()) corrupt(counter_names[i]);
        *counters[i] = static_cast<std::uint64_t>(c.getInt64());  // uint64 stored as its int64 bits
    }
    r.latency = decode.latency(s.getColumn(15).getString(), "rollups.latency");
    if (!breakdowns) return r;
    decode.models(col_str(s, 16), "rollups.models", r.models);
    decode.clients(col_str(s, 17), "rollups.clients", r.clients);
    return r;
}


class SqliteStorage final : public Storage {
public:
    explicit SqliteStorage(const SqliteOptions& options)
        : options_(checked(options)),
          in_memory_(options.path.empty() || options.path == ":memory:"),
          writer_(open("open", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE)) {
        try {
            configure(writer_);
            migrate();
            insert_request_.emplace(writer_, std::string("INSERT INTO requests (") +
                                                 strip_alias(request_summary_columns) +
                                                 strip_alias(request_detail_columns) + ") VALUES (" +
                                                 placeholders(request_column_count) + ")");
            insert_mutation_.emplace(writer_, std::string("INSERT INTO mutations (") + mutation_columns + ") VALUES (" +
                                                  placeholders(mutation_column_count) + ")");
            insert_model_.emplace(writer_, "INSERT INTO request_models (model, started_at, request_id) VALUES (?,?,?)");
            insert_audit_.emplace(writer_,
                                  "INSERT INTO replay_audits (request_id, replayed_by, replayed_at, mutation_id_map, "
                                  "skipped) VALUES (?,?,?,?,?)");
            add_counter_.emplace(writer_, "UPDATE counters SET value = value + ? WHERE name = ?");
            counter_in_tx_.emplace(writer_, "SELECT value FROM counters WHERE name = ?");
            oldest_.emplace(writer_, "SELECT id, started_at, models FROM requests ORDER BY started_at, id LIMIT ?");
            victim_models_.emplace(writer_,
                                   "SELECT model, count(*) FROM mutations WHERE request_id = ? GROUP BY model");
            delete_model_.emplace(writer_,
                                  "DELETE FROM request_models WHERE model = ? AND started_at = ? AND request_id = ?");
            delete_request_.emplace(writer_, "DELETE FROM requests WHERE id = ?");  // mutations cascade
            select_rollup_.emplace(writer_, std::string("SELECT ") + rollup_columns +
                                                " FROM rollups WHERE width_us = ? AND start_us = ? AND instance = ?");
            upsert_rollup_.emplace(writer_, std::string("INSERT OR REPLACE INTO rollups (") + rollup_columns +
                                                ") VALUES (" + placeholders(rollup_column_count) + ")");
            next_rollup_width_.emplace(writer_, "SELECT min(width_us) FROM rollups WHERE width_us > ?");
            delete_rollups_.emplace(writer_, "DELETE FROM rollups WHERE width_us = ? AND start_us <= ?");
            upsert_conflict_client_.emplace(
                writer_,
                "INSERT INTO conflict_hour_clients (hour_start, instance, model, client_id, conflicts) "
                "VALUES (?,?,?,?,?) ON CONFLICT (hour_start, instance, model, client_id) "
                "DO UPDATE SET conflicts = conflicts + excluded.conflicts");
            upsert_conflict_entity_.emplace(
                writer_,
                "INSERT INTO conflict_hour_entities (hour_start, instance, model, entity_id, conflicts, last_seen) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (hour_start, instance, model, entity_id) "
                "DO UPDATE SET conflicts = conflicts + excluded.conflicts, "
                "last_seen = max(last_seen, excluded.last_seen)");
            upsert_conflict_field_.emplace(
                writer_,
                "INSERT INTO conflict_hour_fields (hour_start, instance, model, field, conflicts) "
                "VALUES (?,?,?,?,?) ON CONFLICT (hour_start, instance, model, field) "
                "DO UPDATE SET conflicts = conflicts + excluded.conflicts");
            upsert_entity_total_.emplace(
                writer_,
                "INSERT INTO conflict_entities (model, entity_id, conflicts, last_seen) VALUES (?,?,?,?) "
                "ON CONFLICT (model, entity_id) DO UPDATE SET conflicts = conflicts + excluded.conflicts, "
                "last_seen = max(last_seen, excluded.last_seen)");
            delete_entity_totals_.emplace(writer_, "DELETE FROM conflict_entities WHERE last_seen < ?");
            for (const char* table : {"conflict_hour_clients", "conflict_hour_entities", "conflict_hour_fields"})
                delete_conflict_hours_.emplace_back(writer_,
                                                    std::string("DELETE FROM ") + table + " WHERE hour_start <= ?");
            failures_.emplace(writer_);
            if (!in_memory_) {
                // A private in-memory database cannot be shared: then the writer also reads.
                reader_ = std::make_unique<SQLite::Database>(open("open reader", SQLite::OPEN_READWRITE));
                configure(*reader_);
                reader_->exec("PRAGMA query_only = ON");
            }
        } catch (const SQLite::Exception& e) {
            throw to_storage_error("'" + options_.path + "': open", e);
        }
    }

    std::string describe() const override { return "sqlite:" + options_.path; }

    void write_batch(const std::vector<CapturedRequest>& batch, const RollupBatch& rollups) override {
        detail::check_batch_ids(batch, "sqlite");
        detail::check_rollups(rollups, "sqlite");
        const auto conflict_delta = detail::conflict_count_delta(batch);
        std::vector<FailureRecord> failure_rows;
        const auto failure_delta = detail::failure_delta(batch, failure_rows);
        std::lock_guard lock(write_mutex_);
        in_write_transaction("write_batch", [&] {
            std::int64_t mutations = 0;
            for (const auto& c : batch) {
                insert(c);
                mutations += static_cast<std::int64_t>(c.mutations.size());
            }
            add_counter("requests", static_cast<std::int64_t>(batch.size()));
            add_counter("mutations", mutations);
            if (!rollups.items.empty()) merge_rollups(rollups);
            if (!conflict_delta.empty()) add_conflict_counts(conflict_delta);  // most batches have none
            failures_->write(failure_delta, failure_rows);
        });
    }

    Page<RequestRecord> list_requests(const RequestFilter& f, const PageRequest& page) override {
        validate_page(page);
        // With a model filter the scan is driven by request_models, ordered the same way.
        const bool by_model = !f.model.empty();
        const std::string t = by_model ? "m.started_at" : "r.started_at";
        const std::string id = by_model ? "m.request_id" : "r.id";
        std::string sql = std::string("SELECT ") + request_summary_columns;
        std::vector<BindValue> binds;
        auto where = [&](const std::string& clause, BindValue value) {
            sql += clause;
            binds.push_back(std::move(value));
        };
        if (by_model)
            where(
                " FROM request_models m JOIN requests r ON r.id = m.request_id AND r.started_at = m.started_at"
                " WHERE m.model = ?",
                f.model);
        else
            sql += " FROM requests r WHERE 1";
        if (f.kind) where(" AND r.kind = ?", std::string(to_string(*f.kind)));
        if (!f.client_id.empty()) where(" AND r.client_id = ?", f.client_id);
        if (!f.instance.empty()) where(" AND r.instance = ?", f.instance);
        // Outcomes are literals on purpose: SQLite only uses a partial index when the query
        // repeats its WHERE term verbatim. The names come from a closed enum, never from input.
        if (f.outcome) sql += std::string(" AND r.outcome = '") + to_string(*f.outcome) + "'";
        if (f.failed_only) sql += " AND r.outcome IN ('rejected', 'error')";
        if (f.from_us) where(" AND " + t + " >= ?", *f.from_us);
        newest_first(sql, binds, t, id, f.to_us, page);
        Page<RequestRecord> out;
        query("list_requests", sql, binds,
              newest_first_rows(out, page.limit, [](SQLite::Statement& s) { return read_request(s, false); }));
        return out;
    }

    std::optional<RequestRecord> get_request(std::string_view id) override {
        std::optional<RequestRecord> out;
        in_read_transaction("get_request", [&] {
            query_locked("get_request",
                         std::string("SELECT ") + request_summary_columns + request_detail_columns +
                             " FROM requests r WHERE r.id = ?",
                         {std::string(id)}, [&](SQLite::Statement& s) {
                             out = read_request(s, true);
                             return false;
                         });
            if (!out || out->replay_of.empty()) return;  // only replays have an audit
            query_locked("get_request",
                         std::string("SELECT ") + audit_columns + " FROM replay_audits a WHERE a.request_id = ?",
                         {std::string(id)}, [&](SQLite::Statement& s) {
                             out->replay_audit = read_audit(s, 0);
                             return false;
                         });
        });
        return out;
    }

    Page<MutationRecord> list_mutations(std::string_view request_id, const MutationFilter& f,
                                        const PageRequest& page) override {
        validate_page(page);
        std::string sql = std::string("SELECT ") + mutation_columns + " FROM mutations WHERE request_id = ?";
        std::vector<BindValue> binds{std::string(request_id)};
        auto where = [&](const char* clause, BindValue value) {
            sql += clause;
            binds.push_back(std::move(value));
        };
        if (f.outcome) where(" AND outcome = ?", std::string(to_string(*f.outcome)));
        if (f.conflicted_only) sql += " AND has_conflict = 1";
        if (!f.model.empty()) where(" AND model = ?", f.model);
        if (!page.cursor.empty()) {
            auto c = decode_cursor(page.cursor);
            where(" AND (seq, id) > (?, ?)", c.primary);
            binds.emplace_back(std::move(c.id));
        }
        sql += " ORDER BY seq, id LIMIT ?";
        binds.emplace_back(static_cast<std::int64_t>(page.limit + 1));

        Page<MutationRecord> out;
        query("list_mutations", sql, binds, [&](SQLite::Statement& s) {
            if (out.items.size() == page.limit) {
                out.next_cursor = encode_cursor({out.items.back().seq, out.items.back().id});
                return false;
            }
            out.items.push_back(read_mutation(s));
            return true;
        });
        return out;
    }

    std::optional<MutationRecord> get_mutation(std::string_view id) override {
        std::optional<MutationRecord> out;
        query("get_mutation", std::string("SELECT ") + mutation_columns + " FROM mutations WHERE id = ?",
              {std::string(id)}, [&](SQLite::Statement& s) {
                  out = read_mutation(s);
                  return false;
              });
        return out;
    }

    std::vector<Rollup> read_rollups(Micros width_us, Micros from_us, Micros to_us, std::string_view instance,
                                     bool breakdowns) override {
        std::vector<Rollup> out;
        if (width_us <= 0 || from_us >= to_us) return out;
        // A range of the primary key, already in (start_us, instance) order: no sort.
        // Without breakdowns the two map columns are not even fetched.
        std::string columns = rollup_columns;
        if (!breakdowns) columns = columns.substr(0, columns.rfind(", models"));
        std::string sql = "SELECT " + columns + " FROM rollups WHERE width_us = ? AND start_us >= ? AND start_us < ?";
        std::vector<BindValue> binds{width_us, from_us, to_us};
        if (!instance.empty()) {
            sql += " AND instance = ?";
            binds.emplace_back(std::string(instance));
        }
        sql += " ORDER BY start_us, instance";
        query("read_rollups", sql, binds, [&](SQLite::Statement& s) {
            out.push_back(read_rollup(s, breakdowns));
            return true;
        });
        return out;
    }

    std::size_t prune_rollups(Micros before_us) override {
        std::lock_guard lock(write_mutex_);
        std::size_t deleted = 0;
        in_write_transaction("prune_rollups", [&] {
            // One seek per stored width (a handful), then a range of the primary key each.
            Micros width = 0;
            for (;;) {
                {
                    StatementUse s(*next_rollup_width_);
                    s->bind(1, static_cast<std::int64_t>(width));
                    if (!s->executeStep() || s->isColumnNull(0)) break;
                    width = s->getColumn(0).getInt64();
                }
                if (width <= 0 || before_us < INT64_MIN + width) continue;  // no bucket ends that early
                StatementUse s(*delete_rollups_);
                s->bind(1, static_cast<std::int64_t>(width));
                s->bind(2, static_cast<std::int64_t>(before_us - width));  // start + width <= before
                deleted += static_cast<std::size_t>(s->exec());
            }
            // Conflict pattern hours follow the same retention; not part of the count.
            Micros last_hour = 0;
            if (detail::last_ended_conflict_hour(before_us, last_hour)) {
                for (auto& stmt : delete_conflict_hours_) {
                    StatementUse s(stmt);
                    s->bind(1, static_cast<std::int64_t>(last_hour));
                    s->exec();
                }
                // Entities whose every conflict was in the hours just deleted.
                StatementUse s(*delete_entity_totals_);
                s->bind(1, static_cast<std::int64_t>(last_hour + detail::conflict_hour_us));
                s->exec();
            }
            failures_->prune(before_us);
        });
        return deleted;
    }

    Page<ConflictRecord> list_conflicts(const ConflictFilter& f, const PageRequest& page) override {
        validate_page(page);
        // CROSS JOIN keeps mutations the outer loop: the scan walks a partial conflict index
        // in keyset order and looks each request up by primary key.
        std::string sql = std::string("SELECT ") + conflict_columns +
                          " FROM mutations m CROSS JOIN requests r ON r.id = m.request_id WHERE m.has_conflict = 1";
        std::vector<BindValue> binds;
        auto where = [&](const std::string& clause, BindValue value) {
            sql += clause;
            binds.push_back(std::move(value));
        };
        if (!f.model.empty()) where(" AND m.model = ?", f.model);
        if (!f.client_id.empty()) where(" AND m.client_id = ?", f.client_id);
        if (!f.entity_id.empty()) where(" AND m.entity_id = ?", f.entity_id);
        if (!f.instance.empty()) where(" AND m.instance = ?", f.instance);
        if (!f.resolver.empty()) where(" AND m.conflict_resolver = ?", f.resolver);
        if (f.resolution) where(" AND m.conflict_resolution = ?", std::string(to_string(*f.resolution)));
        if (f.from_us) where(" AND m.started_at >= ?", *f.from_us);
        newest_first(sql, binds, "m.started_at", "m.id", f.to_us, page);
        Page<ConflictRecord> out;
        query("list_conflicts", sql, binds, newest_first_rows(out, page.limit, read_conflict));
        return out;
    }

    std::optional<ConflictRecord> get_conflict(std::string_view id) override {
        std::optional<ConflictRecord> out;
        query("get_conflict",
              std::string("SELECT ") + conflict_columns +
                  " FROM mutations m CROSS JOIN requests r ON r.id = m.request_id WHERE m.id = ? AND m.has_conflict = 1",
              {std::string(id)}, [&](SQLite::Statement& s) {
                  out = read_conflict(s);
                  return false;
              });
        return out;
    }

    ConflictPatterns conflict_patterns(const ConflictPatternQuery& q) override {
        const auto range = detail::conflict_pattern_range(q);
        ConflictPatterns out;
        std::map<Micros, std::uint64_t> per_hour;
        // Ranges of the tables' primary keys (hour first); the same tie orders as
        // detail::conflict_order, in SQL (BINARY collation compares bytes like std::string).
        std::string where = " WHERE hour_start >= ? AND hour_start < ?";
        std::vector<BindValue> binds{range.from_us, range.to_us};
        if (!q.instance.empty()) {
            where += " AND instance = ?";
            binds.emplace_back(q.instance);
        }
        auto with_limit = binds;
        with_limit.emplace_back(static_cast<std::int64_t>(std::min<std::size_t>(q.top_n, INT64_MAX)));
        auto count = [](SQLite::Statement& s, int i) {
            return static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.getColumn(i).getInt64()));
        };
        // One read transaction: every list comes from the same committed batches.
        in_read_transaction("conflict_patterns", [&] {
            if (range.hours == 0) return;
            // One pass over the (hour, model, client) rows feeds the hour, model, client and
            // model × client lists; sorting a few thousand sums in memory beats four GROUP BYs.
            std::map<std::string, std::uint64_t> models, clients;
            std::map<std::pair<std::string, std::string>, std::uint64_t> pairs;
            query_locked("conflict_patterns",
                         "SELECT hour_start, model, client_id, conflicts FROM conflict_hour_clients" + where, binds,
                         [&](SQLite::Statement& s) {
                             const std::uint64_t n = count(s, 3);
                             per_hour[s.getColumn(0).getInt64()] += n;
                             if (q.top_n == 0) return true;
                             std::string model = col_str(s, 1), client = col_str(s, 2);
                             models[model] += n;
                             clients[client] += n;
                             pairs[{std::move(model), std::move(client)}] += n;
                             return true;
                         });
            if (q.top_n == 0) return;
            for (auto& [m, n] : models) out.by_model.push_back({m, n});
            for (auto& [c, n] : clients) out.by_client.push_back({c, n});
            for (auto& [mc, n] : pairs) out.by_model_client.push_back({mc.first, mc.second, n});
            detail::keep_top(out.by_model, q.top_n);
            detail::keep_top(out.by_client, q.top_n);
            detail::keep_top(out.by_model_client, q.top_n);
            top_entities(q, range, out.top_entities);
            query_locked("conflict_patterns",
                         "SELECT model, field, sum(conflicts) AS n FROM conflict_hour_fields" + where +
                             " GROUP BY model, field ORDER BY n DESC, model, field LIMIT ?",
                         with_limit, [&](SQLite::Statement& s) {
                             out.top_fields.push_back({col_str(s, 0), col_str(s, 1), count(s, 2)});
                             return true;
                         });
        });
        detail::fill_conflict_buckets(out, range, per_hour);
        return out;
    }

    // Exact top entities without grouping every entity of the range: candidates come from
    // the per-entity totals, best first by (conflicts, last_seen). An entity's count and
    // last seen inside the range are at most its totals, so once the next candidate's
    // totals rank below the n-th result found, no later one can enter the list.
    void top_entities(const ConflictPatternQuery& q, const detail::ConflictPatternRange& range,
                      std::vector<ConflictPatterns::Entity>& top) {
        std::string count_sql =
            "SELECT sum(conflicts), max(last_seen) FROM conflict_hour_entities "
            "WHERE model = ? AND entity_id = ? AND hour_start >= ? AND hour_start < ?";
        if (!q.instance.empty()) count_sql += " AND instance = ?";
        auto ranks_below = [&](std::uint64_t conflicts, Micros last_seen) {
            if (top.size() < q.top_n) return false;
            const auto& last = top.back();
            return conflicts < last.conflicts || (conflicts == last.conflicts && last_seen < last.last_seen_us);
        };
        query_locked("conflict_patterns",
                     "SELECT model, entity_id, conflicts, last_seen FROM conflict_entities "
                     "ORDER BY conflicts DESC, last_seen DESC",
                     {}, [&](SQLite::Statement& s) {
                         const std::uint64_t total = static_cast<std::uint64_t>(s.getColumn(2).getInt64());
                         const Micros seen = s.getColumn(3).getInt64();
                         if (ranks_below(total, seen)) return false;
                         if (seen < range.from_us) return true;  // no conflict in the range
                         ConflictPatterns::Entity e{col_str(s, 0), col_str(s, 1), 0, 0};
                         std::vector<BindValue> binds{e.model, e.entity_id, range.from_us, range.to_us};
                         if (!q.instance.empty()) binds.emplace_back(q.instance);
                         query_locked("conflict_patterns", count_sql, binds, [&](SQLite::Statement& c) {
                             if (!c.isColumnNull(0)) {
                                 e.conflicts = static_cast<std::uint64_t>(c.getColumn(0).getInt64());
                                 e.last_seen_us = c.getColumn(1).getInt64();
                             }
                             return false;
                         });
                         if (e.conflicts == 0) return true;
                         top.push_back(std::move(e));
                         detail::keep_top(top, q.top_n);
                         return true;
                     });
    }

    Page<FailureRecord> list_failures(const FailureFilter& filter, const PageRequest& page) override {
        return read("list_failures", [&](const QueryFn& q) { return failures_->list(q, filter, page); });
    }
    std::vector<FailureGroup> failure_groups(const FailureGroupQuery& query, const FailureThresholds& t) override {
        return read("failure_groups", [&](const QueryFn& q) { return failures_->groups(q, query, t); });
    }
    std::optional<FailureGroup> failure_group(std::string_view fingerprint, std::string_view instance, Micros now_us,
                                              const FailureThresholds& t) override {
        return read("failure_group",
                    [&](const QueryFn& q) { return failures_->group(q, fingerprint, instance, now_us, t, true); });
    }
    Page<ClientSummary> list_clients(const ClientFilter& filter, const PageRequest& page,
                                     const FailureThresholds& t) override {
        return read("list_clients", [&](const QueryFn& q) { return failures_->clients(q, filter, page, t); });
    }
    std::optional<ClientSummary> get_client(std::string_view client_id, const FailureThresholds& t) override {
        return read("get_client", [&](const QueryFn& q) { return failures_->client(q, client_id, t); });
    }
    std::vector<ClientModelCounts> client_models(std::string_view client_id) override {
        return read("client_models", [&](const QueryFn& q) { return failures_->client_models(q, client_id); });
    }
    std::vector<PoisonMutation> poison_mutations(const PoisonQuery& query, const FailureThresholds& t) override {
        return read("poison_mutations", [&](const QueryFn& q) { return failures_->poison(q, query, t); });
    }

    Page<ReplayLink> list_replays(std::string_view original_id, const PageRequest& page) override {
        validate_page(page);
        std::string sql =
            std::string("SELECT r.id, r.replay_of, r.started_at, r.http_status, r.outcome, a.request_id, ") +
            audit_columns +
            " FROM requests r LEFT JOIN replay_audits a ON a.request_id = r.id"
            " WHERE r.replay_of = ? AND r.replay_of <> ''";  // repeats the partial index's term
        std::vector<BindValue> binds{std::string(original_id)};
        newest_first(sql, binds, "r.started_at", "r.id", std::nullopt, page);
        Page<ReplayLink> out;
        query("list_replays", sql, binds, newest_first_rows(out, page.limit, read_replay_link));
        return out;
    }

    std::uint64_t count_requests() override { return read_counter("requests"); }
    std::uint64_t count_mutations() override { return read_counter("mutations"); }

    std::size_t prune(const RetentionPolicy& policy, Micros now_us, std::size_t max_requests_per_call) override {
        std::lock_guard lock(write_mutex_);
        try {
            if (policy.max_tracked_mutations > 0 && failures_->poison_over(policy.max_tracked_mutations))
                in_write_transaction("prune", [&] { failures_->trim_poison(policy.max_tracked_mutations); });
        } catch (const SQLite::Exception& e) {
            throw to_storage_error("prune", e);
        }
        if (max_requests_per_call == 0 || !policy.limits_requests()) return 0;
        std::size_t deleted = 0;
        in_write_transaction("prune", [&] {
            const auto total = static_cast<std::uint64_t>(counter(*counter_in_tx_, "requests"));
            const std::uint64_t excess = policy.excess_requests(total);
            const std::optional<Micros> cutoff = policy.age_cutoff(now_us);
            struct Victim {
                std::string id;
                Micros started_at;
                std::string models;
            };
            // Both limits select a prefix of the oldest-first order; take the longer one.
            std::vector<Victim> victims;
            {
                StatementUse s(*oldest_);
                s->bind(1, static_cast<std::int64_t>(max_requests_per_call));
                while (s->executeStep()) {
                    Micros started = s->getColumn(1).getInt64();
                    const bool too_old = cutoff && started < *cutoff;
                    if (victims.size() >= excess && !too_old) break;
                    victims.push_back({col_str(*s, 0), started, col_str(*s, 2)});
                }
            }
            std::int64_t mutations = 0;
            for (const auto& v : victims) {
                auto models = strings_from(v.models, "requests.models");
                {
                    StatementUse s(*victim_models_);
                    s->bind(1, v.id);
                    while (s->executeStep()) {
                        models.push_back(s->getColumn(0).getString());
                        mutations += s->getColumn(1).getInt64();
                    }
                }
                std::sort(models.begin(), models.end());
                models.erase(std::unique(models.begin(), models.end()), models.end());
                for (const auto& model : models) {
                    StatementUse s(*delete_model_);
                    s->bind(1, model);
                    s->bind(2, static_cast<std::int64_t>(v.started_at));
                    s->bind(3, v.id);
                    s->exec();
                }
                StatementUse s(*delete_request_);
                s->bind(1, v.id);
                s->exec();
            }
            add_counter("requests", -static_cast<std::int64_t>(victims.size()));
            add_counter("mutations", -mutations);
            deleted = victims.size();
        });
        return deleted;
    }

private:
    // "r.id, r.kind" -> "id, kind": the INSERT uses the same column lists as the SELECTs.
    static std::string strip_alias(const char* cols) {
        std::string out(cols);
        for (std::size_t p; (p = out.find("r.")) != std::string::npos;) out.erase(p, 2);
        return out;
    }

    static const SqliteOptions& checked(const SqliteOptions& o) {
        const int p = o.page_size;
        if (p < 512 || p > 65'536 || (p & (p - 1)) != 0)
            throw StorageError("sqlite: page_size " + std::to_string(p) +
                                   " is not a power of two from 512 to 65536",
                               false);
        return o;
    }

    SQLite::Database open(const char* what, int flags) const {
        try {
            return SQLite::Database(in_memory_ ? ":memory:" : options_.path, flags,
                                    static_cast<int>(options_.busy_timeout.count()));
        } catch (const SQLite::Exception& e) {
            throw to_storage_error("'" + options_.path + "': " + what, e);
        }
    }

    void configure(SQLite::Database& db) {
        // Only takes effect before the first table exists and the file turns to WAL mode.
        if (&db == &writer_) db.exec("PRAGMA page_size = " + std::to_string(options_.page_size));
        if (&db == &writer_) db.execAndGet("PRAGMA journal_mode = WAL");  // persistent; memory DBs keep "memory"
        db.exec("PRAGMA synchronous = NORMAL");
        db.exec("PRAGMA foreign_keys = ON");
        // The writer touches the requests table and its nine indexes per stored request; with
        // SQLite's 2 MB default it re-reads their pages from the OS on every batch.
        if (&db == &writer_) db.exec("PRAGMA cache_size = -16384");  // 16 MB
        if (options_.max_page_count > 0)
            db.execAndGet("PRAGMA max_page_count = " + std::to_string(options_.max_page_count));
    }

    void migrate() {
        const auto& steps = detail::sqlite_migrations();
        const int known = static_cast<int>(steps.size());
        in_write_transaction("migrate", [&] {
            writer_.exec(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
            int current = writer_.execAndGet("SELECT coalesce(max(version), 0) FROM schema_version").getInt();
            if (current > known)
                throw StorageError("sqlite: '" + options_.path + "' has schema version " + std::to_string(current) +
                                       ", newer than version " + std::to_string(known) +
                                       " supported by this tether-pro; upgrade tether-pro or use another file",
                                   false);
            auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
            SQLite::Statement record(writer_, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)");
            for (int v = current; v < known; ++v) {
                writer_.exec(steps[static_cast<std::size_t>(v)]);
                record.reset();
                record.bind(1, v + 1);
                record.bind(2, static_cast<std::int64_t>(now_us));
                record.exec();
            }
        });
    }

    // Runs `body` in BEGIN IMMEDIATE … COMMIT on the writer; any failure rolls back.
    template <class F>
    void in_write_transaction(const char* what, F&& body) {
        try {
            // A failed ROLLBACK must not wedge the connection in a transaction forever.
            if (!sqlite3_get_autocommit(writer_.getHandle())) writer_.tryExec("ROLLBACK");
            writer_.exec("BEGIN IMMEDIATE");
        } catch (const SQLite::Exception& e) {
            throw to_storage_error(what, e);
        }
        try {
            body();
            writer_.exec("COMMIT");
        } catch (const SQLite::Exception& e) {
            writer_.tryExec("ROLLBACK");
            throw to_storage_error(what, e);
        } catch (const StorageError&) {
            writer_.tryExec("ROLLBACK");
            throw;
        } catch (const std::exception& e) {
            writer_.tryExec("ROLLBACK");
            throw StorageError(std::string("sqlite: ") + what + ": " + e.what(), false);
        }
    }

    void insert(const CapturedRequest& c) {
        const RequestRecord& r = c.request;
        {
            // Strings bound without copy must outlive exec(): keep them in locals.
            const std::string kind = to_string(r.kind), outcome = to_string(r.outcome);
            const std::string models = strings_json(r.models), headers = headers_json(r.headers),
                              redacted = strings_json(r.redacted_paths), notes = notes_json(r.notes);
            const std::string req_err = r.request_parse_error ? parse_failure_json(*r.request_parse_error) : "";
            const std::string resp_err = r.response_parse_error ? parse_failure_json(*r.response_parse_error) : "";
            StatementUse s(*insert_request_);
            auto& st = *insert_request_;
            bind_text(st, 1, r.id);
            bind_text(st, 2, kind);
            bind_text(st, 3, r.client_id);
            bind_text(st, 4, r.client_version);
            bind_text(st, 5, r.instance);
            st.bind(6, static_cast<std::int64_t>(r.started_at_us));
            st.bind(7, static_cast<std::int64_t>(r.duration_us));
            st.bind(8, static_cast<std::int32_t>(r.http_status));
            bind_text(st, 9, outcome);
            st.bind(10, r.mutation_count);
            st.bind(11, r.applied);
            st.bind(12, r.rejected);
            st.bind(13, r.conflicts);
            st.bind(14, r.snapshots);
            bind_text(st, 15, models);
            bind_opt(st, 16, r.last_sync_cursor);
            bind_opt(st, 17, r.new_sync_cursor);
            bind_opt(st, 18, r.pull_limit);
            bind_opt(st, 19, r.has_more ? std::optional<std::int64_t>(*r.has_more ? 1 : 0) : std::nullopt);
            bind_bool(st, 20, r.request_truncated);
            bind_bool(st, 21, r.response_truncated);
            bind_bool(st, 22, r.request_body_dropped);
            bind_bool(st, 23, r.response_body_dropped);
            bind_bool(st, 24, r.request_body_scrubbed);
            bind_bool(st, 25, r.response_body_scrubbed);
            if (r.request_parse_error)
                bind_text(st, 26, req_err);
            else
                st.bind(26);
            if (r.response_parse_error)
                bind_text(st, 27, resp_err);
            else
                st.bind(27);
            bind_text(st, 28, r.replay_of);
            st.bind(29, static_cast<std::int64_t>(r.recorded_at_us));
            bind_text(st, 30, headers);
            bind_text(st, 31, redacted);
            bind_text(st, 32, notes);
            bind_blob(st, 33, r.request_body);
            bind_blob(st, 34, r.response_body);
            st.exec();
        }

        // The model filter's index: request models plus the models of its mutations.
        std::vector<std::string> models(r.models.begin(), r.models.end());
        for (const auto& m : c.mutations) models.push_back(m.model);
        std::sort(models.begin(), models.end());
        models.erase(std::unique(models.begin(), models.end()), models.end());
        for (const auto& model : models) {
            if (model.empty()) continue;  // "" means "no filter", never a model
            StatementUse s(*insert_model_);
            bind_text(*insert_model_, 1, model);
            s->bind(2, static_cast<std::int64_t>(r.started_at_us));
            bind_text(*insert_model_, 3, r.id);
            s->exec();
        }

        for (const auto& m : c.mutations) insert(r, m);
        if (r.replay_audit) insert(r.id, *r.replay_audit);
    }

    void insert(const std::string& request_id, const ReplayAudit& a) {
        const std::string map = id_map_json(a.mutation_id_map), skipped = skipped_json(a.skipped);
        StatementUse s(*insert_audit_);
        bind_text(*s, 1, request_id);
        bind_text(*s, 2, a.by);
        s->bind(3, static_cast<std::int64_t>(a.at_us));
        bind_text(*s, 4, map);
        bind_text(*s, 5, skipped);
        s->exec();
    }

    void insert(const RequestRecord& r, const MutationRecord& m) {
        const std::string outcome = to_string(m.outcome);
        const std::string payload_diff = changes_json(m.payload_diff), change_diff = changes_json(m.change_diff);
        static const std::string none;
        const ConflictInfo* c = m.conflict ? &*m.conflict : nullptr;
        const std::string resolution = c && c->resolution ? to_string(*c->resolution) : "";
        const std::string conflict_fields = c ? changes_json(c->fields) : "[]";
        StatementUse s(*insert_mutation_);
        auto& st = *insert_mutation_;
        bind_text(st, 1, m.id);
        bind_text(st, 2, r.id);  // the batch grouping is authoritative
        st.bind(3, m.seq);
        bind_text(st, 4, m.client_id);
        bind_text(st, 5, m.instance);
        st.bind(6, static_cast<std::int64_t>(m.started_at_us));
        bind_text(st, 7, m.mutation_id);
        bind_text(st, 8, m.entity_id);
        bind_text(st, 9, m.model);
        bind_text(st, 10, m.operation);
        bind_opt(st, 11, m.version);
        bind_opt(st, 12, m.client_timestamp_ms);
        bind_text(st, 13, outcome);
        bind_text(st, 14, m.reason);
        bind_bool(st, 15, m.payload_redacted);
        bind_bool(st, 16, c != nullptr);
        bind_text(st, 17, c ? c->reason : none);
        bind_text(st, 18, c ? c->resolver : none);
        if (c && c->resolution)
            bind_text(st, 19, resolution);
        else
            st.bind(19);
        bind_text(st, 20, c ? c->server_updated_at : none);
        bind_bool(st, 21, c && c->reported_by_host);
        bind_bool(st, 22, c && c->reported_in_response);
        bind_text(st, 23, m.validation_json);
        bind_text(st, 24, m.rejection_data_json);
        bind_text(st, 25, payload_diff);
        bind_text(st, 26, change_diff);
        bind_text(st, 27, c ? c->server_state_json : none);
        bind_text(st, 28, m.state_before_json);
        bind_text(st, 29, m.state_after_json);
        bind_text(st, 30, m.payload_json);
        bind_text(st, 31, conflict_fields);
        st.exec();
    }

    // Read-modify-write inside the batch's transaction: only this instance's writer touches
    // its (bucket, instance) rows. Items of one bucket merge in batch order, then one write.
    void merge_rollups(const RollupBatch& rollups) {
        std::map<std::tuple<Micros, Micros, std::string_view>, Rollup> merged;
        for (const auto& item : rollups.items) {
            auto key = std::make_tuple(item.width_us, item.start_us, std::string_view(item.instance));
            auto it = merged.find(key);
            if (it == merged.end()) {
                Rollup base;
                {
                    StatementUse s(*select_rollup_);
                    s->bind(1, static_cast<std::int64_t>(item.width_us));
                    s->bind(2, static_cast<std::int64_t>(item.start_us));
                    bind_text(*select_rollup_, 3, item.instance);
                    if (s->executeStep()) {
                        base = read_rollup(*s);
                    } else {
                        base.width_us = item.width_us;
                        base.start_us = item.start_us;
                        base.instance = item.instance;
                    }
                }
                it = merged.emplace(key, std::move(base)).first;
            }
            it->second.merge(item, rollups.max_clients_per_bucket);
        }
        for (const auto& [key, r] : merged) {
            const std::string latency = r.latency.encode(), models = models_json(r.models),
                              clients = clients_json(r.clients);
            StatementUse s(*upsert_rollup_);
            auto& st = *upsert_rollup_;
            st.bind(1, static_cast<std::int64_t>(r.width_us));
            st.bind(2, static_cast<std::int64_t>(r.start_us));
            bind_text(st, 3, r.instance);
            const std::uint64_t counters[] = {r.requests,        r.pushes,          r.pulls,
                                              r.mutations,       r.snapshots,       r.applied,
                                              r.rejected,        r.conflicts,       r.conflict_requests,
                                              r.failed_requests, r.duration_sum_us, r.duration_max_us};
            for (int i = 0; i < 12; ++i) st.bind(4 + i, static_cast<std::int64_t>(counters[i]));
            bind_text(st, 16, latency);
            bind_text(st, 17, models);
            bind_text(st, 18, clients);
            st.exec();
        }
    }

    // Inside the batch's transaction: one upsert per touched (hour, instance, model, key).
    void add_conflict_counts(const detail::ConflictCounts& d) {
        auto key = [](SQLite::Statement& st, const detail::ConflictHourKey& k) {
            st.bind(1, static_cast<std::int64_t>(std::get<0>(k)));
            bind_text(st, 2, std::get<1>(k));
            bind_text(st, 3, std::get<2>(k));
            bind_text(st, 4, std::get<3>(k));
        };
        for (const auto& [k, n] : d.clients) {
            StatementUse s(*upsert_conflict_client_);
            key(*s, k);
            s->bind(5, static_cast<std::int64_t>(n));
            s->exec();
        }
        for (const auto& [k, e] : d.entities) {
            StatementUse s(*upsert_conflict_entity_);
            key(*s, k);
            s->bind(5, static_cast<std::int64_t>(e.conflicts));
            s->bind(6, static_cast<std::int64_t>(e.last_seen_us));
            s->exec();
        }
        std::map<std::pair<std::string, std::string>, detail::ConflictEntityCount> totals;
        for (const auto& [k, e] : d.entities) totals[{std::get<2>(k), std::get<3>(k)}].add(e);
        for (const auto& [k, e] : totals) {
            StatementUse s(*upsert_entity_total_);
            bind_text(*s, 1, k.first);  // TEXT, like the hourly rows: a BLOB key would never match
            bind_text(*s, 2, k.second);
            s->bind(3, static_cast<std::int64_t>(e.conflicts));
            s->bind(4, static_cast<std::int64_t>(e.last_seen_us));
            s->exec();
        }
        for (const auto& [k, n] : d.fields) {
            StatementUse s(*upsert_conflict_field_);
            key(*s, k);
            s->bind(5, static_cast<std::int64_t>(n));
            s->exec();
        }
    }

    void add_counter(const char* name, std::int64_t delta) {
        if (delta == 0) return;
        StatementUse s(*add_counter_);
        s->bind(1, static_cast<std::int64_t>(delta));
        s->bind(2, name);
        s->exec();
    }

    static std::int64_t counter(SQLite::Statement& stmt, const char* name) {
        StatementUse s(stmt);
        s->bind(1, name);
        return s->executeStep() ? s->getColumn(0).getInt64() : 0;
    }

    std::uint64_t read_counter(const char* name) {
        std::uint64_t out = 0;
        query("count", "SELECT value FROM counters WHERE name = ?", {std::string(name)}, [&](SQLite::Statement& s) {
            out = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.getColumn(0).getInt64()));
            return false;
        });
        return out;
    }

    // Runs a read on the reader connection with a cached statement; `row` returns false to stop.
    template <class F>
    void query(const char* what, const std::string& sql, const std::vector<BindValue>& binds, F&& row) {
        std::lock_guard lock(in_memory_ ? write_mutex_ : read_mutex_);
        query_locked(what, sql, binds, std::forward<F>(row));
    }

    // Several reads from one snapshot: `body` calls query_locked (the lock is held).
    template <class F>
    void in_read_transaction(const char* what, F&& body) {
        std::lock_guard lock(in_memory_ ? write_mutex_ : read_mutex_);
        SQLite::Database& db = in_memory_ ? writer_ : *reader_;
        try {
            db.exec("BEGIN");
        } catch (const SQLite::Exception& e) {
            throw to_storage_error(what, e);
        }
        try {
            body();
            db.exec("COMMIT");  // read-only: ends the snapshot
        } catch (const SQLite::Exception& e) {
            db.tryExec("ROLLBACK");
            throw to_storage_error(what, e);
        } catch (...) {
            db.tryExec("ROLLBACK");
            throw;
        }
    }

    // A table module's reads, all from one snapshot.
    template <class F>
    auto read(const char* what, F&& body) -> decltype(body(std::declval<const QueryFn&>())) {
        std::optional<decltype(body(std::declval<const QueryFn&>()))> out;
        in_read_transaction(what, [&] {
            const QueryFn q = [this](const char* w, const std::string& sql, const std::vector<BindValue>& binds,
                                     const RowFn& row) { query_locked(w, sql, binds, row); };
            out.emplace(body(q));
        });
        return std::move(*out);
    }

    template <class F>
    void query_locked(const char* what, const std::string& sql, const std::vector<BindValue>& binds, F&& row) {
        SQLite::Database& db = in_memory_ ? writer_ : *reader_;
        try {
            auto it = read_statements_.find(sql);
            if (it == read_statements_.end()) {
                // Bounded: filters combine. Never while a statement of the cache is being stepped.
                if (read_statements_.size() >= 128 && query_depth_ == 0) read_statements_.clear();
                it = read_statements_.emplace(sql, SQLite::Statement(db, sql)).first;
            }
            StatementUse s(it->second);
            for (std::size_t i = 0; i < binds.size(); ++i) {
                const int index = static_cast<int>(i + 1);
                if (auto* n = std::get_if<std::int64_t>(&binds[i]))
                    s->bind(index, static_cast<std::int64_t>(*n));
                else
                    s->bindNoCopy(index, std::get<std::string>(binds[i]));
            }
            ++query_depth_;  // a row callback may run a nested query (conflict_patterns does)
            struct Leave {
                int& depth;
                ~Leave() { --depth; }
            } leave{query_depth_};
            // *s, not it->second: a nested query may rehash the cache (references stay valid).
            while (s->executeStep())
                if (!row(*s)) break;
        } catch (const SQLite::Exception& e) {
            throw to_storage_error(what, e);
        }
    }

    SqliteOptions options_;
    bool in_memory_;
    // Declaration order matters: statements must be finalized before their connection closes.
    std::mutex write_mutex_;
    SQLite::Database writer_;
    std::optional<SQLite::Statement> insert_request_, insert_mutation_, insert_model_, add_counter_, counter_in_tx_,
        oldest_, victim_models_, delete_model_, delete_request_, select_rollup_, upsert_rollup_, next_rollup_width_,
        delete_rollups_, upsert_conflict_client_, upsert_conflict_entity_, upsert_conflict_field_, upsert_entity_total_,
        delete_entity_totals_, insert_audit_;
    std::vector<SQLite::Statement> delete_conflict_hours_;
    std::optional<detail::sqlite::FailureTables> failures_;
    std::mutex read_mutex_;
    std::unique_ptr<SQLite::Database> reader_;
    std::unordered_map<std::string, SQLite::Statement> read_statements_;
    int query_depth_ = 0;  // guarded by the read lock, like read_statements_
};

}  // namespace

std::shared_ptr<Storage> open_sqlite_storage(const SqliteOptions& options) {
    return std::make_shared<SqliteStorage>(options);
}

}  // namespace tether
