#include "storage/sqlite/failure_tables.hpp"

#include <algorithm>
#include <cstdint>

#include "storage/keys.hpp"
#include "tether/errors.hpp"
#include "tether/telemetry.hpp"

namespace tether::detail::sqlite {

// Failure rows go with their request (ON DELETE CASCADE); the counts follow telemetry
// retention (prune_rollups). Times are µs since the epoch; counts are never negative.
const char* const failure_tables_migration = R"sql(
CREATE TABLE failures (
    id             TEXT PRIMARY KEY NOT NULL,  -- mutation row id, or the request id
    kind           TEXT NOT NULL,              -- mutation | request
    request_id     TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    started_at     INTEGER NOT NULL,
    instance       TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    client_version TEXT NOT NULL,
    model          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    mutation_id    TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    operation      TEXT NOT NULL,
    http_status    INTEGER NOT NULL,
    fields         TEXT NOT NULL,              -- JSON array of strings
    message        TEXT NOT NULL,
    messages       TEXT NOT NULL               -- JSON text or ''
);
CREATE INDEX ix_failures_time        ON failures (started_at, id);
CREATE INDEX ix_failures_fingerprint ON failures (fingerprint, started_at, id);
CREATE INDEX ix_failures_client      ON failures (client_id, started_at, id);
CREATE INDEX ix_failures_model       ON failures (model, started_at, id);
CREATE INDEX ix_failures_request     ON failures (request_id);

CREATE TABLE failure_groups (
    fingerprint TEXT NOT NULL,
    instance    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    model       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    fields      TEXT NOT NULL,
    count       INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, instance)
) WITHOUT ROWID;
CREATE TABLE failure_group_clients (
    fingerprint TEXT NOT NULL,
    instance    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    count       INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, instance, client_id)
) WITHOUT ROWID;
CREATE INDEX ix_failure_group_clients_client ON failure_group_clients (client_id, fingerprint);
CREATE INDEX ix_failure_group_clients_seen   ON failure_group_clients (last_seen);
CREATE TABLE failure_buckets (
    fingerprint TEXT NOT NULL,
    instance    TEXT NOT NULL,
    start       INTEGER NOT NULL,  -- 5-minute bucket start
    count       INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, instance, start)
) WITHOUT ROWID;
CREATE INDEX ix_failure_buckets_start ON failure_buckets (start);

CREATE TABLE clients (
    seq                 INTEGER PRIMARY KEY,  -- keyset tie-breaker of the client list
    client_id           TEXT NOT NULL UNIQUE,
    client_version      TEXT NOT NULL,
    instance            TEXT NOT NULL,
    first_seen          INTEGER NOT NULL,
    last_seen           INTEGER NOT NULL,
    last_success        INTEGER,
    last_push_success   INTEGER,
    requests            INTEGER NOT NULL,
    pushes              INTEGER NOT NULL,
    pulls               INTEGER NOT NULL,
    mutations           INTEGER NOT NULL,
    failed_requests     INTEGER NOT NULL,
    conflicted_requests INTEGER NOT NULL,
    failing_streak      INTEGER NOT NULL
);
CREATE INDEX ix_clients_seen ON clients (last_seen, seq);  -- also serves the stuck filter
CREATE TABLE client_models (
    client_id TEXT NOT NULL,
    model     TEXT NOT NULL,
    mutations INTEGER NOT NULL,
    failures  INTEGER NOT NULL,
    conflicts INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (client_id, model)
) WITHOUT ROWID;
CREATE INDEX ix_client_models_seen ON client_models (last_seen);
CREATE TABLE poison_candidates (
    mutation_id     TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL,
    model           TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    failures        INTEGER NOT NULL,
    failing_streak  INTEGER NOT NULL,
    last_reason     TEXT NOT NULL,
    last_request_id TEXT NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_poison_streak ON poison_candidates (failing_streak, last_seen);
CREATE INDEX ix_poison_seen   ON poison_candidates (last_seen);
)sql";

namespace {

constexpr const char* failure_columns =
    "id, kind, request_id, started_at, instance, client_id, client_version, model, reason, fingerprint, "
    "mutation_id, entity_id, operation, http_status, fields, message, messages";

FailureRecord read_failure(SQLite::Statement& s) {
    FailureRecord f;
    f.id = col_str(s, 0);
    auto kind = parse_failure_kind(col_str(s, 1));
    if (!kind) corrupt("failures.kind");
    f.kind = *kind;
    f.request_id = col_str(s, 2);
    f.started_at_us = s.getColumn(3).getInt64();
    f.instance = col_str(s, 4);
    f.client_id = col_str(s, 5);
    f.client_version = col_str(s, 6);
    f.model = col_str(s, 7);
    f.reason = col_str(s, 8);
    f.fingerprint = col_str(s, 9);
    f.mutation_id = col_str(s, 10);
    f.entity_id = col_str(s, 11);
    f.operation = col_str(s, 12);
    f.http_status = s.getColumn(13).getInt();
    f.fields = strings_from(col_str(s, 14), "failures.fields");
    f.message = col_str(s, 15);
    f.messages_json = col_str(s, 16);
    return f;
}

constexpr const char* client_columns =
    "client_id, client_version, instance, first_seen, last_seen, last_success, last_push_success, requests, pushes, "
    "pulls, mutations, failed_requests, conflicted_requests, failing_streak, seq";

ClientSummary read_client(SQLite::Statement& s, const FailureThresholds& t) {
    ClientRow row;
    row.client_version = col_str(s, 1);
    row.instance = col_str(s, 2);
    row.first_seen_us = s.getColumn(3).getInt64();
    row.last_seen_us = s.getColumn(4).getInt64();
    row.last_success_us = col_opt(s, 5);
    row.last_push_success_us = col_opt(s, 6);
    row.requests = col_u64(s, 7);
    row.pushes = col_u64(s, 8);
    row.pulls = col_u64(s, 9);
    row.mutations = col_u64(s, 10);
    row.failed_requests = col_u64(s, 11);
    row.conflicted_requests = col_u64(s, 12);
    row.failing_streak = col_u32(s, 13);
    return client_summary(col_str(s, 0), row, t);
}

}  // namespace

FailureTables::FailureTables(SQLite::Database& db)
    : insert_failure_(db, std::string("INSERT INTO failures (") + failure_columns +
                              ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"),
      upsert_group_(db,
                    "INSERT INTO failure_groups (fingerprint, instance, kind, model, reason, fields, count, first_seen, "
                    "last_seen) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (fingerprint, instance) DO UPDATE SET "
                    "count = count + excluded.count, first_seen = min(first_seen, excluded.first_seen), "
                    "last_seen = max(last_seen, excluded.last_seen)"),
      upsert_group_client_(db,
                           "INSERT INTO failure_group_clients (fingerprint, instance, client_id, count, first_seen, "
                           "last_seen) VALUES (?,?,?,?,?,?) ON CONFLICT (fingerprint, instance, client_id) DO UPDATE "
                           "SET count = count + excluded.count, first_seen = min(first_seen, excluded.first_seen), "
                           "last_seen = max(last_seen, excluded.last_seen)"),
      upsert_bucket_(db,
                     "INSERT INTO failure_buckets (fingerprint, instance, start, count) VALUES (?,?,?,?) "
                     "ON CONFLICT (fingerprint, instance, start) DO UPDATE SET count = count + excluded.count"),
      // ?15 = the delta reset the streak (an ok push): see the merge rules in failure_counts.hpp.
      upsert_client_(db,
                     "INSERT INTO clients (client_id, client_version, instance, first_seen, last_seen, last_success, "
                     "last_push_success, requests, pushes, pulls, mutations, failed_requests, conflicted_requests, "
                     "failing_streak) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14) "
                     "ON CONFLICT (client_id) DO UPDATE SET "
                     "client_version = CASE WHEN excluded.last_seen >= last_seen THEN excluded.client_version "
                     "ELSE client_version END, "
                     "instance = CASE WHEN excluded.last_seen >= last_seen THEN excluded.instance ELSE instance END, "
                     "first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), "
                     "last_success = max(coalesce(last_success, excluded.last_success), "
                     "coalesce(excluded.last_success, last_success)), "
                     "last_push_success = max(coalesce(last_push_success, excluded.last_push_success), "
                     "coalesce(excluded.last_push_success, last_push_success)), "
                     "requests = requests + excluded.requests, pushes = pushes + excluded.pushes, "
                     "pulls = pulls + excluded.pulls, mutations = mutations + excluded.mutations, "
                     "failed_requests = failed_requests + excluded.failed_requests, "
                     "conflicted_requests = conflicted_requests + excluded.conflicted_requests, "
                     "failing_streak = CASE WHEN ?15 THEN excluded.failing_streak "
                     "ELSE failing_streak + excluded.failing_streak END"),
      upsert_client_model_(db,
                           "INSERT INTO client_models (client_id, model, mutations, failures, conflicts, last_seen) "
                           "VALUES (?,?,?,?,?,?) ON CONFLICT (client_id, model) DO UPDATE SET "
                           "mutations = mutations + excluded.mutations, failures = failures + excluded.failures, "
                           "conflicts = conflicts + excluded.conflicts, last_seen = max(last_seen, excluded.last_seen)"),
      upsert_poison_(db,
                     "INSERT INTO poison_candidates (mutation_id, client_id, model, entity_id, attempts, failures, "
                     "failing_streak, last_reason, last_request_id, first_seen, last_seen) "
                     "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) ON CONFLICT (mutation_id) DO UPDATE SET "
                     "client_id = CASE WHEN excluded.last_seen >= last_seen THEN excluded.client_id ELSE client_id END, "
                     "last_reason = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_reason "
                     "ELSE last_reason END, "
                     "last_request_id = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_request_id "
                     "ELSE last_request_id END, "
                     "attempts = attempts + excluded.attempts, failures = failures + excluded.failures, "
                     "failing_streak = CASE WHEN ?12 THEN excluded.failing_streak "
                     "ELSE failing_streak + excluded.failing_streak END, "
                     "first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)"),
      // Applied attempts only touch ids that failed before (no row: nothing to do).
      find_poison_(db,
                   "SELECT mutation_id FROM poison_candidates WHERE mutation_id IN (SELECT value FROM json_each(?))"),
      update_poison_(db,
                     "UPDATE poison_candidates SET attempts = attempts + ?1, failing_streak = 0, "
                     "last_seen = max(last_seen, ?2) WHERE mutation_id = ?3"),
      // The (keep+1)-th newest last_seen is the cut-off: one walk of ix_poison_seen, no count(*).
      trim_poison_(db,
                   "DELETE FROM poison_candidates WHERE mutation_id IN (SELECT mutation_id FROM poison_candidates "
                   "WHERE last_seen <= (SELECT last_seen FROM poison_candidates ORDER BY last_seen DESC LIMIT 1 "
                   "OFFSET ?1) ORDER BY last_seen LIMIT ?2)"),
      poison_over_(db, "SELECT 1 FROM poison_candidates ORDER BY last_seen DESC LIMIT 1 OFFSET ?") {
    for (const char* sql : {"DELETE FROM failure_groups WHERE last_seen < ?",
                            "DELETE FROM failure_group_clients WHERE last_seen < ?",
                            "DELETE FROM failure_buckets WHERE start <= ? - 300000000",
                            "DELETE FROM clients WHERE last_seen < ?",
                            "DELETE FROM client_models WHERE last_seen < ?",
                            "DELETE FROM poison_candidates WHERE last_seen < ?"})
        prune_.emplace_back(db, sql);
}

void FailureTables::write(const FailureCounts& d, const std::vector<FailureRecord>& failures) {
    for (const auto& f : failures) {
        StatementUse s(insert_failure_);
        const std::string kind = to_string(f.kind), fields = strings_json(f.fields);
        bind_text(*s, 1, f.id);
        s->bind(2, kind);
        bind_text(*s, 3, f.request_id);
        s->bind(4, static_cast<std::int64_t>(f.started_at_us));
        bind_text(*s, 5, f.instance);
        bind_text(*s, 6, f.client_id);
        bind_text(*s, 7, f.client_version);
        bind_text(*s, 8, f.model);
        bind_text(*s, 9, f.reason);
        bind_text(*s, 10, f.fingerprint);
        bind_text(*s, 11, f.mutation_id);
        bind_text(*s, 12, f.entity_id);
        bind_text(*s, 13, f.operation);
        s->bind(14, f.http_status);
        bind_text(*s, 15, fields);
        bind_text(*s, 16, f.message);
        bind_text(*s, 17, f.messages_json);
        s->exec();
    }
    for (const auto& [key, g] : d.groups) {
        StatementUse s(upsert_group_);
        const std::string fields = strings_json(g.fields);
        bind_text(*s, 1, key.first);
        bind_text(*s, 2, key.second);
        s->bind(3, to_string(g.kind));
        bind_text(*s, 4, g.model);
        bind_text(*s, 5, g.reason);
        bind_text(*s, 6, fields);
        bind_u64(*s, 7, g.seen.count);
        s->bind(8, static_cast<std::int64_t>(g.seen.first_us));
        s->bind(9, static_cast<std::int64_t>(g.seen.last_us));
        s->exec();
    }
    for (const auto& [key, c] : d.group_clients) {
        StatementUse s(upsert_group_client_);
        bind_text(*s, 1, std::get<0>(key));
        bind_text(*s, 2, std::get<1>(key));
        bind_text(*s, 3, std::get<2>(key));
        bind_u64(*s, 4, c.count);
        s->bind(5, static_cast<std::int64_t>(c.first_us));
        s->bind(6, static_cast<std::int64_t>(c.last_us));
        s->exec();
    }
    for (const auto& [key, n] : d.buckets) {
        StatementUse s(upsert_bucket_);
        bind_text(*s, 1, std::get<0>(key));
        bind_text(*s, 2, std::get<1>(key));
        s->bind(3, static_cast<std::int64_t>(std::get<2>(key)));
        bind_u64(*s, 4, n);
        s->exec();
    }
    for (const auto& [id, c] : d.clients) {
        StatementUse s(upsert_client_);
        bind_text(*s, 1, id);
        bind_text(*s, 2, c.client_version);
        bind_text(*s, 3, c.instance);
        s->bind(4, static_cast<std::int64_t>(c.first_seen_us));
        s->bind(5, static_cast<std::int64_t>(c.last_seen_us));
        bind_opt(*s, 6, c.last_success_us);
        bind_opt(*s, 7, c.last_push_success_us);
        bind_u64(*s, 8, c.requests);
        bind_u64(*s, 9, c.pushes);
        bind_u64(*s, 10, c.pulls);
        bind_u64(*s, 11, c.mutations);
        bind_u64(*s, 12, c.failed_requests);
        bind_u64(*s, 13, c.conflicted_requests);
        s->bind(14, static_cast<std::int64_t>(c.failing_streak));
        bind_bool(*s, 15, c.streak_reset);
        s->exec();
    }
    for (const auto& [key, c] : d.client_models) {
        StatementUse s(upsert_client_model_);
        bind_text(*s, 1, key.first);
        bind_text(*s, 2, key.second);
        bind_u64(*s, 3, c.mutations);
        bind_u64(*s, 4, c.failures);
        bind_u64(*s, 5, c.conflicts);
        s->bind(6, static_cast<std::int64_t>(c.last_seen_us));
        s->exec();
    }
    // Applied attempts matter only for ids that failed before, which almost none did: one
    // statement finds those among the whole batch instead of one UPDATE per mutation.
    std::vector<std::string> applied;
    for (const auto& [mid, p] : d.poison)
        if (p.failures == 0) applied.push_back(mid);
    if (!applied.empty()) {
        std::vector<std::string> known;
        {
            StatementUse s(find_poison_);
            const std::string ids = strings_json(applied);
            bind_text(*s, 1, ids);
            while (s->executeStep()) known.push_back(col_str(*s, 0));
        }
        for (const auto& mid : known) {
            const PoisonRow& p = d.poison.at(mid);
            StatementUse s(update_poison_);
            bind_u64(*s, 1, p.attempts);
            s->bind(2, static_cast<std::int64_t>(p.last_seen_us));
            bind_text(*s, 3, mid);
            s->exec();
        }
    }
    for (const auto& [mid, p] : d.poison) {
        if (p.failures == 0) continue;
        StatementUse s(upsert_poison_);
        bind_text(*s, 1, mid);
        bind_text(*s, 2, p.client_id);
        bind_text(*s, 3, p.model);
        bind_text(*s, 4, p.entity_id);
        bind_u64(*s, 5, p.attempts);
        bind_u64(*s, 6, p.failures);
        s->bind(7, static_cast<std::int64_t>(p.failing_streak));
        bind_text(*s, 8, p.last_reason);
        bind_text(*s, 9, p.last_request_id);
        s->bind(10, static_cast<std::int64_t>(p.first_seen_us));
        s->bind(11, static_cast<std::int64_t>(p.last_seen_us));
        bind_bool(*s, 12, p.streak_reset);
        s->exec();
    }
}

void FailureTables::prune(Micros before_us) {
    // Bucket starts are clamped to ±2^62 by failure_bucket: no overflow in "? - width".
    const Micros before = std::clamp<Micros>(before_us, -(Micros{1} << 62), Micros{1} << 62);
    for (auto& stmt : prune_) {
        StatementUse s(stmt);
        s->bind(1, static_cast<std::int64_t>(before));
        s->exec();
    }
}

void FailureTables::trim_poison(std::uint64_t keep) {
    StatementUse s(trim_poison_);
    s->bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(keep, INT64_MAX)));
    s->bind(2, static_cast<std::int64_t>(max_poison_trim_per_call));
    s->exec();
}

bool FailureTables::poison_over(std::uint64_t keep) {
    StatementUse s(poison_over_);
    s->bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(keep, INT64_MAX)));
    return s->executeStep();
}

Page<FailureRecord> FailureTables::list(const QueryFn& q, const FailureFilter& f, const PageRequest& page) const {
    validate_page(page);
    std::string sql = std::string("SELECT ") + failure_columns + " FROM failures WHERE 1";
    std::vector<BindValue> binds;
    auto where = [&](const std::string& clause, BindValue value) {
        sql += clause;
        binds.push_back(std::move(value));
    };
    if (!f.fingerprint.empty()) where(" AND fingerprint = ?", f.fingerprint);
    if (!f.model.empty()) where(" AND model = ?", f.model);
    if (!f.client_id.empty()) where(" AND client_id = ?", f.client_id);
    if (!f.reason.empty()) where(" AND reason = ?", f.reason);
    if (!f.instance.empty()) where(" AND instance = ?", f.instance);
    if (f.kind) where(" AND kind = ?", std::string(to_string(*f.kind)));
    if (f.from_us) where(" AND started_at >= ?", *f.from_us);
    newest_first(sql, binds, "started_at", "id", f.to_us, page);
    Page<FailureRecord> out;
    q("list_failures", sql, binds, newest_first_rows(out, page.limit, read_failure));
    return out;
}

std::optional<FailureGroup> FailureTables::group(const QueryFn& q, std::string_view fingerprint,
                                                 std::string_view instance, Micros now_us, const FailureThresholds& t,
                                                 bool hourly) const {
    const std::string fp(fingerprint), inst(instance);
    std::string scope = " WHERE fingerprint = ?";
    std::vector<BindValue> binds{fp};
    if (!inst.empty()) {
        scope += " AND instance = ?";
        binds.emplace_back(inst);
    }
    std::optional<FailureGroup> found;
    q("failure_group",
      "SELECT min(kind), min(model), min(reason), min(fields), sum(count), min(first_seen), max(last_seen) "
      "FROM failure_groups" + scope + " HAVING count(*) > 0",
      binds, [&](SQLite::Statement& s) {
          FailureGroup g;
          g.fingerprint = fp;
          auto kind = parse_failure_kind(col_str(s, 0));
          if (!kind) corrupt("failure_groups.kind");
          g.kind = *kind;
          g.model = col_str(s, 1);
          g.reason = col_str(s, 2);
          g.fields = strings_from(col_str(s, 3), "failure_groups.fields");
          g.count = col_u64(s, 4);
          g.first_seen_us = s.getColumn(5).getInt64();
          g.last_seen_us = s.getColumn(6).getInt64();
          found = std::move(g);
          return false;
      });
    if (!found) return std::nullopt;
    FailureGroup& g = *found;

    q("failure_group", "SELECT count(DISTINCT client_id) FROM failure_group_clients" + scope, binds,
      [&](SQLite::Statement& s) {
          g.clients = col_u64(s, 0);
          return false;
      });
    // Candidates in failure order: the top few, then every client that could be systematic.
    q("failure_group",
      "SELECT client_id, sum(count) AS n, max(last_seen) FROM failure_group_clients" + scope +
          " GROUP BY client_id ORDER BY n DESC, client_id",
      binds, [&](SQLite::Statement& s) {
          FailureGroupClient c;
          c.client_id = col_str(s, 0);
          c.failures = col_u64(s, 1);
          c.last_seen_us = s.getColumn(2).getInt64();
          if (g.top_clients.size() >= max_top_clients && c.failures < t.systematic_min_failures) return false;
          g.top_clients.push_back(std::move(c));
          return true;
      });
    for (auto& c : g.top_clients) {
        if (g.kind == FailureKind::mutation)
            q("failure_group", "SELECT mutations FROM client_models WHERE client_id = ? AND model = ?",
              {c.client_id, g.model}, [&](SQLite::Statement& s) {
                  c.attempts = col_u64(s, 0);
                  return false;
              });
        else
            q("failure_group", "SELECT requests FROM clients WHERE client_id = ?", {c.client_id},
              [&](SQLite::Statement& s) {
                  c.attempts = col_u64(s, 0);
                  return false;
              });
    }

    GroupBuckets buckets(now_us, hourly);
    auto range = binds;
    range.emplace_back(buckets.from_us());
    range.emplace_back(buckets.to_us());
    q("failure_group",
      "SELECT start, sum(count) FROM failure_buckets" + scope + " AND start >= ? AND start < ? GROUP BY start", range,
      [&](SQLite::Statement& s) {
          buckets.add(s.getColumn(0).getInt64(), col_u64(s, 1));
          return true;
      });
    buckets.finish(g);

    q("failure_group",
      "SELECT id, request_id FROM failures" + scope + " ORDER BY started_at DESC, id DESC LIMIT 5", binds,
      [&](SQLite::Statement& s) {
          g.sample_ids.push_back(col_str(s, 0));
          g.sample_request_ids.push_back(col_str(s, 1));
          return true;
      });
    finish_group(g, t);
    return found;
}

std::vector<FailureGroup> FailureTables::groups(const QueryFn& q, const FailureGroupQuery& query,
                                                const FailureThresholds& t) const {
    validate_limit(query.limit);
    std::string sql = "SELECT fingerprint, sum(count) AS n, max(last_seen) AS seen FROM failure_groups WHERE 1";
    std::vector<BindValue> binds;
    auto where = [&](const std::string& clause, BindValue value) {
        sql += clause;
        binds.push_back(std::move(value));
    };
    if (!query.instance.empty()) where(" AND instance = ?", query.instance);
    if (!query.model.empty()) where(" AND model = ?", query.model);
    if (!query.reason.empty()) where(" AND reason = ?", query.reason);
    if (!query.client_id.empty()) {
        where(" AND fingerprint IN (SELECT fingerprint FROM failure_group_clients WHERE client_id = ?", query.client_id);
        if (!query.instance.empty()) where(" AND instance = ?", query.instance);
        sql += ")";
    }
    sql += query.sort == FailureGroupQuery::Sort::last_seen ? " GROUP BY fingerprint ORDER BY seen DESC, fingerprint"
                                                            : " GROUP BY fingerprint ORDER BY n DESC, fingerprint";
    // Systematic-only has to look at groups until enough qualify; otherwise the SQL limits.
    if (!query.systematic_only) {
        sql += " LIMIT ?";
        binds.emplace_back(static_cast<std::int64_t>(query.limit));
    }
    std::vector<std::string> fingerprints;
    q("failure_groups", sql, binds, [&](SQLite::Statement& s) {
        fingerprints.push_back(col_str(s, 0));
        return true;
    });
    return first_groups(fingerprints, query, [&](const std::string& fp) {
        return group(q, fp, query.instance, query.now_us, t, false);
    });
}

Page<ClientSummary> FailureTables::clients(const QueryFn& q, const ClientFilter& filter, const PageRequest& page,
                                           const FailureThresholds& t) const {
    validate_page(page);
    std::string sql = std::string("SELECT ") + client_columns + " FROM clients WHERE 1";
    std::vector<BindValue> binds;
    if (filter.stuck_only) {
        sql += " AND failing_streak >= ?";
        binds.emplace_back(static_cast<std::int64_t>(std::max<std::uint32_t>(1, t.stuck_after_pushes)));
    }
    if (!page.cursor.empty()) {
        auto c = decode_cursor(page.cursor);
        const std::int64_t seq = client_cursor_seq(c);
        sql += " AND (last_seen, seq) < (?, ?)";
        binds.emplace_back(c.primary);
        binds.emplace_back(seq);
    }
    sql += " ORDER BY last_seen DESC, seq DESC LIMIT ?";
    binds.emplace_back(static_cast<std::int64_t>(page.limit + 1));
    Page<ClientSummary> out;
    std::int64_t last_seq = 0;
    q("list_clients", sql, binds, [&](SQLite::Statement& s) {
        if (out.items.size() == page.limit) {
            out.next_cursor = encode_cursor({out.items.back().last_seen_us, std::to_string(last_seq)});
            return false;
        }
        out.items.push_back(read_client(s, t));
        last_seq = s.getColumn(14).getInt64();
        return true;
    });
    return out;
}

std::optional<ClientSummary> FailureTables::client(const QueryFn& q, std::string_view client_id,
                                                   const FailureThresholds& t) const {
    std::optional<ClientSummary> out;
    q("get_client", std::string("SELECT ") + client_columns + " FROM clients WHERE client_id = ?",
      {std::string(client_id)}, [&](SQLite::Statement& s) {
          out = read_client(s, t);
          return false;
      });
    return out;
}

std::vector<ClientModelCounts> FailureTables::client_models(const QueryFn& q, std::string_view client_id) const {
    std::vector<ClientModelCounts> out;
    q("client_models",
      "SELECT model, mutations, failures, conflicts FROM client_models WHERE client_id = ? "
      "ORDER BY mutations DESC, model",
      {std::string(client_id)}, [&](SQLite::Statement& s) {
          out.push_back({col_str(s, 0), col_u64(s, 1), col_u64(s, 2), col_u64(s, 3)});
          return true;
      });
    return out;
}

std::vector<PoisonMutation> FailureTables::poison(const QueryFn& q, const PoisonQuery& query,
                                                  const FailureThresholds& t) const {
    validate_limit(query.limit);
    std::string sql =
        "SELECT p.mutation_id, p.client_id, p.model, p.entity_id, p.attempts, p.failures, p.failing_streak, "
        "p.last_reason, p.last_request_id, p.first_seen, p.last_seen, c.last_success "
        "FROM poison_candidates p LEFT JOIN clients c ON c.client_id = p.client_id WHERE p.failing_streak >= ?";
    std::vector<BindValue> binds{static_cast<std::int64_t>(std::max<std::uint32_t>(1, t.poison_after_failures))};
    if (!query.client_id.empty()) {
        sql += " AND p.client_id = ?";
        binds.emplace_back(query.client_id);
    }
    sql += " ORDER BY p.last_seen DESC, p.mutation_id LIMIT ?";
    binds.emplace_back(static_cast<std::int64_t>(query.limit));
    std::vector<PoisonMutation> out;
    q("poison_mutations", sql, binds, [&](SQLite::Statement& s) {
        PoisonMutation p;
        p.mutation_id = col_str(s, 0);
        p.client_id = col_str(s, 1);
        p.model = col_str(s, 2);
        p.entity_id = col_str(s, 3);
        p.attempts = col_u64(s, 4);
        p.failures = col_u64(s, 5);
        p.failing_streak = col_u32(s, 6);
        p.last_reason = col_str(s, 7);
        p.last_request_id = col_str(s, 8);
        p.first_seen_us = s.getColumn(9).getInt64();
        p.last_seen_us = s.getColumn(10).getInt64();
        p.client_last_success_us = col_opt(s, 11);
        out.push_back(std::move(p));
        return true;
    });
    return out;
}

}  // namespace tether::detail::sqlite
