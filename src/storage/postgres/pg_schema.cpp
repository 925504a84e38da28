#include "storage/postgres/pg_schema.hpp"

#include <chrono>

#include "tether/postgres_storage.hpp"

namespace tether {
namespace detail::pg {

const std::vector<std::string>& migrations() {
    // Never edit a released step: append a new one.
    //
    // Column types: captured text (client ids, models, bodies, JSON documents, …) is bytea: it
    // is bytes (NUL, invalid UTF-8) and compares bytewise, like std::string and SQLite's BINARY
    // collation, so lists order the same on every backend. Request and mutation ids (checked to
    // be [0-9A-Za-z_-] before they are written) and enum names are text in the "C" collation,
    // bytewise as well. µs times and counts are bigint; unsigned counters keep their int64 bits.
    static const std::vector<std::string> steps = {
        R"sql(
-- A request and the rows that belong to it live in the partitions of the day of the request's
-- started_at (partitions.cpp creates them on demand, prune() drops them whole). A primary key
-- must contain the partition key, so the unique indexes are per (id, day); write_batch checks
-- ids across days.
CREATE TABLE requests (
    id                     text COLLATE "C" NOT NULL,
    started_at             bigint NOT NULL,  -- µs since the epoch, UTC; the partition key
    kind                   text NOT NULL,
    client_id              bytea NOT NULL,
    client_version         bytea NOT NULL,
    instance               bytea NOT NULL,
    duration_us            bigint NOT NULL,
    http_status            integer NOT NULL,
    outcome                text NOT NULL,    -- ok | conflict | rejected | error
    mutation_count         bigint NOT NULL,
    applied                bigint NOT NULL,
    rejected               bigint NOT NULL,
    conflicts              bigint NOT NULL,
    snapshots              bigint NOT NULL,
    models                 bytea NOT NULL,   -- JSON array of strings
    last_sync_cursor       bigint,
    new_sync_cursor        bigint,
    pull_limit             bigint,
    has_more               boolean,
    request_truncated      boolean NOT NULL,
    response_truncated     boolean NOT NULL,
    request_body_dropped   boolean NOT NULL,
    response_body_dropped  boolean NOT NULL,
    request_body_scrubbed  boolean NOT NULL,
    response_body_scrubbed boolean NOT NULL,
    request_parse_error    bytea,            -- JSON {message, offset, line, column}
    response_parse_error   bytea,
    replay_of              bytea NOT NULL,
    recorded_at            bigint NOT NULL,
    replayed_by            bytea,            -- the replay audit when this request is a recorded
    replayed_at            bigint,           -- replay (replayed_at NULL: none)
    replay_id_map          bytea,            -- JSON [[captured, replayed], …]
    replay_skipped         bytea,            -- JSON [{seq, mutation_id, reason}]
    headers                bytea NOT NULL,   -- JSON [{name, value}]
    redacted_paths         bytea NOT NULL,   -- JSON array of strings
    notes                  bytea NOT NULL,   -- JSON [{where, path, message, protocol_error}]
    request_body           bytea NOT NULL,
    response_body          bytea NOT NULL,
    PRIMARY KEY (id, started_at)
) PARTITION BY RANGE (started_at);
-- Keyset order is (started_at DESC, id DESC); every filter index ends with it.
CREATE INDEX ix_requests_time     ON requests (started_at, id);
CREATE INDEX ix_requests_client   ON requests (client_id, started_at, id);
CREATE INDEX ix_requests_kind     ON requests (kind, started_at, id);
CREATE INDEX ix_requests_instance ON requests (instance, started_at, id);
CREATE INDEX ix_requests_conflict ON requests (started_at, id) WHERE outcome = 'conflict';
CREATE INDEX ix_requests_rejected ON requests (started_at, id) WHERE outcome = 'rejected';
CREATE INDEX ix_requests_error    ON requests (started_at, id) WHERE outcome = 'error';
CREATE INDEX ix_requests_failed   ON requests (started_at, id) WHERE outcome IN ('rejected', 'error');
CREATE INDEX ix_requests_replay   ON requests (replay_of, started_at, id) WHERE replay_of <> '';

CREATE TABLE mutations (
    id                         text COLLATE "C" NOT NULL,
    request_started_at         bigint NOT NULL,  -- the partition key: the day of its request
    request_id                 text COLLATE "C" NOT NULL,
    seq                        bigint NOT NULL,
    client_id                  bytea NOT NULL,
    instance                   bytea NOT NULL,
    started_at                 bigint NOT NULL,
    mutation_id                bytea NOT NULL,
    entity_id                  bytea NOT NULL,
    model                      bytea NOT NULL,
    operation                  bytea NOT NULL,
    version                    bigint,
    client_timestamp_ms        bigint,
    outcome                    text NOT NULL,    -- applied | rejected | conflict | unknown
    reason                     bytea NOT NULL,
    payload_redacted           boolean NOT NULL,
    has_conflict               boolean NOT NULL,
    conflict_reason            bytea NOT NULL,
    conflict_resolver          bytea NOT NULL,
    conflict_resolution        text,             -- server_wins | client_wins | merged | rejected
    conflict_server_updated_at bytea NOT NULL,
    conflict_by_host           boolean NOT NULL,
    conflict_in_response       boolean NOT NULL,
    conflict_fields            bytea NOT NULL,   -- JSON, field_changes_to_json
    validation                 bytea NOT NULL,
    rejection_data             bytea NOT NULL,
    payload_diff               bytea NOT NULL,
    change_diff                bytea NOT NULL,
    conflict_server_state      bytea NOT NULL,
    state_before               bytea NOT NULL,
    state_after                bytea NOT NULL,
    payload                    bytea NOT NULL,
    PRIMARY KEY (id, request_started_at)
) PARTITION BY RANGE (request_started_at);
CREATE INDEX ix_mutations_request         ON mutations (request_id, seq, id);
CREATE INDEX ix_mutations_conflict        ON mutations (started_at, id) WHERE has_conflict;
CREATE INDEX ix_mutations_conflict_model  ON mutations (model, started_at, id) WHERE has_conflict;
CREATE INDEX ix_mutations_conflict_client ON mutations (client_id, started_at, id) WHERE has_conflict;
CREATE INDEX ix_mutations_conflict_entity ON mutations (entity_id, started_at, id) WHERE has_conflict;

-- Models a request pushed or pulled (its `models` plus its mutations' models), so the model
-- filter is an ordered index scan.
CREATE TABLE request_models (
    model      bytea NOT NULL,
    started_at bigint NOT NULL,
    request_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (model, started_at, request_id)
) PARTITION BY RANGE (started_at);

-- Failure rows (rules in storage/failure_counts.hpp) go with their request.
CREATE TABLE failures (
    id                 text COLLATE "C" NOT NULL,  -- mutation row id, or the request id
    request_started_at bigint NOT NULL,
    kind               text NOT NULL,              -- mutation | request
    request_id         text COLLATE "C" NOT NULL,
    started_at         bigint NOT NULL,
    instance           bytea NOT NULL,
    client_id          bytea NOT NULL,
    client_version     bytea NOT NULL,
    model              bytea NOT NULL,
    reason             bytea NOT NULL,
    fingerprint        bytea NOT NULL,
    mutation_id        bytea NOT NULL,
    entity_id          bytea NOT NULL,
    operation          bytea NOT NULL,
    http_status        integer NOT NULL,
    fields             bytea NOT NULL,             -- JSON array of strings
    message            bytea NOT NULL,
    messages           bytea NOT NULL,             -- JSON text or ''
    PRIMARY KEY (id, request_started_at)
) PARTITION BY RANGE (request_started_at);
CREATE INDEX ix_failures_time        ON failures (started_at, id);
CREATE INDEX ix_failures_fingerprint ON failures (fingerprint, started_at, id);
CREATE INDEX ix_failures_client      ON failures (client_id, started_at, id);
CREATE INDEX ix_failures_model       ON failures (model, started_at, id);
CREATE INDEX ix_failures_request     ON failures (request_id);

-- Row counts per day of the partitions: count(*) would scan millions of rows, and a day's
-- count is what dropping its partitions removes. Each storage object adds to a shard of its
-- own, so that concurrent writers rarely wait for each other's row.
CREATE TABLE counters (
    day       bigint NOT NULL,
    shard     integer NOT NULL,
    requests  bigint NOT NULL,
    mutations bigint NOT NULL,
    PRIMARY KEY (day, shard)
);

-- Telemetry rollups, one row per (bucket width, bucket start, instance), merged under a row
-- lock by each batch that adds to it.
CREATE TABLE rollups (
    width_us          bigint NOT NULL,
    start_us          bigint NOT NULL,  -- a multiple of width_us
    instance          bytea NOT NULL,
    requests          bigint NOT NULL,
    pushes            bigint NOT NULL,
    pulls             bigint NOT NULL,
    mutations         bigint NOT NULL,
    snapshots         bigint NOT NULL,
    applied           bigint NOT NULL,
    rejected          bigint NOT NULL,
    conflicts         bigint NOT NULL,
    conflict_requests bigint NOT NULL,
    failed_requests   bigint NOT NULL,
    duration_sum_us   bigint NOT NULL,
    duration_max_us   bigint NOT NULL,
    latency           text NOT NULL,    -- LatencyHistogram::encode, "bin:count,…"
    models            bytea NOT NULL,   -- JSON {model: [mutations, conflicts, failures]}
    clients           bytea NOT NULL,   -- JSON {client: [requests, mutations, failures]}
    PRIMARY KEY (width_us, start_us, instance)
);

-- Hourly conflict counts (storage/conflict_counts.hpp), added to with upserts.
CREATE TABLE conflict_hour_clients (
    hour_start bigint NOT NULL,
    instance   bytea NOT NULL,
    model      bytea NOT NULL,
    client_id  bytea NOT NULL,
    conflicts  bigint NOT NULL,
    PRIMARY KEY (hour_start, instance, model, client_id)
);
CREATE TABLE conflict_hour_entities (
    hour_start bigint NOT NULL,
    instance   bytea NOT NULL,
    model      bytea NOT NULL,
    entity_id  bytea NOT NULL,
    conflicts  bigint NOT NULL,
    last_seen  bigint NOT NULL,
    PRIMARY KEY (hour_start, instance, model, entity_id)
);
CREATE TABLE conflict_hour_fields (
    hour_start bigint NOT NULL,
    instance   bytea NOT NULL,
    model      bytea NOT NULL,
    field      bytea NOT NULL,  -- JSON Pointer
    conflicts  bigint NOT NULL,
    PRIMARY KEY (hour_start, instance, model, field)
);

-- Failure counts (storage/failure_counts.hpp has the merge rules), added to with upserts.
CREATE TABLE failure_groups (
    fingerprint bytea NOT NULL,
    instance    bytea NOT NULL,
    kind        text NOT NULL,
    model       bytea NOT NULL,
    reason      bytea NOT NULL,
    fields      bytea NOT NULL,
    count       bigint NOT NULL,
    first_seen  bigint NOT NULL,
    last_seen   bigint NOT NULL,
    PRIMARY KEY (fingerprint, instance)
);
CREATE INDEX ix_failure_groups_seen ON failure_groups (last_seen);
CREATE TABLE failure_group_clients (
    fingerprint bytea NOT NULL,
    instance    bytea NOT NULL,
    client_id   bytea NOT NULL,
    count       bigint NOT NULL,
    first_seen  bigint NOT NULL,
    last_seen   bigint NOT NULL,
    PRIMARY KEY (fingerprint, instance, client_id)
);
CREATE INDEX ix_failure_group_clients_client ON failure_group_clients (client_id, fingerprint);
CREATE INDEX ix_failure_group_clients_seen   ON failure_group_clients (last_seen);
CREATE TABLE failure_buckets (
    fingerprint bytea NOT NULL,
    instance    bytea NOT NULL,
    start       bigint NOT NULL,  -- 5-minute bucket start
    count       bigint NOT NULL,
    PRIMARY KEY (fingerprint, instance, start)
);
CREATE INDEX ix_failure_buckets_start ON failure_buckets (start);

CREATE TABLE clients (
    client_id           bytea PRIMARY KEY,
    seq                 bigint GENERATED ALWAYS AS IDENTITY,  -- keyset tie-breaker of the client list
    client_version      bytea NOT NULL,
    instance            bytea NOT NULL,
    first_seen          bigint NOT NULL,
    last_seen           bigint NOT NULL,
    last_success        bigint,
    last_push_success   bigint,
    requests            bigint NOT NULL,
    pushes              bigint NOT NULL,
    pulls               bigint NOT NULL,
    mutations           bigint NOT NULL,
    failed_requests     bigint NOT NULL,
    conflicted_requests bigint NOT NULL,
    failing_streak      bigint NOT NULL
);
CREATE INDEX ix_clients_seen ON clients (last_seen, seq);
CREATE TABLE client_models (
    client_id bytea NOT NULL,
    model     bytea NOT NULL,
    mutations bigint NOT NULL,
    failures  bigint NOT NULL,
    conflicts bigint NOT NULL,
    last_seen bigint NOT NULL,
    PRIMARY KEY (client_id, model)
);
CREATE INDEX ix_client_models_seen ON client_models (last_seen);
CREATE TABLE poison_candidates (
    mutation_id     bytea PRIMARY KEY,
    client_id       bytea NOT NULL,
    model           bytea NOT NULL,
    entity_id       bytea NOT NULL,
    attempts        bigint NOT NULL,
    failures        bigint NOT NULL,
    failing_streak  bigint NOT NULL,
    last_reason     bytea NOT NULL,
    last_request_id bytea NOT NULL,
    first_seen      bigint NOT NULL,
    last_seen       bigint NOT NULL
);
CREATE INDEX ix_poison_streak ON poison_candidates (failing_streak, last_seen);
CREATE INDEX ix_poison_seen   ON poison_candidates (last_seen);
)sql",
    };
    return steps;
}

void migrate(pqxx::connection& c, const Target& target) {
    const auto& steps = migrations();
    const int known = static_cast<int>(steps.size());
    pqxx::work tx(c);
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtextextended('tether.migrate:' || $1, 0))", target.schema);
    // The schema name is checked to be a plain identifier (Target::parse).
    tx.exec("CREATE SCHEMA IF NOT EXISTS " + target.schema);
    tx.exec("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
    const int current = tx.exec("SELECT coalesce(max(version), 0) FROM schema_version")[0][0].as<int>();
    if (current > known)
        throw StorageError("postgres: " + target.description + " has schema version " + std::to_string(current) +
                               ", newer than version " + std::to_string(known) +
                               " supported by this tether-pro; upgrade tether-pro or use another schema",
                           false);
    const auto now_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (int v = current; v < known; ++v) {
        tx.exec(steps[static_cast<std::size_t>(v)]);
        tx.exec_params("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", v + 1,
                       static_cast<std::int64_t>(now_us));
    }
    tx.commit();
}

}  // namespace detail::pg

int postgres_schema_version() noexcept { return static_cast<int>(detail::pg::migrations().size()); }

}  // namespace tether
