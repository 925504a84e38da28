#include "storage/postgres/failure_tables.hpp"

#include <algorithm>

#include "storage/keys.hpp"
#include "storage/postgres/pg_util.hpp"
#include "storage/record_columns.hpp"
#include "tether/errors.hpp"

namespace tether::detail::pg::failures {
namespace {

constexpr columns::Decoder decode("postgres");

constexpr const char* failure_columns =
    "id, kind, request_id, started_at, instance, client_id, client_version, model, reason, fingerprint, "
    "mutation_id, entity_id, operation, http_status, fields, message, messages";

FailureRecord read_failure(const pqxx::row& r) {
    FailureRecord f;
    f.id = text(r[0]);
    auto kind = parse_failure_kind(text(r[1]));
    if (!kind) decode.corrupt("failures.kind");
    f.kind = *kind;
    f.request_id = text(r[2]);
    f.started_at_us = i64(r[3]);
    f.instance = bytes(r[4]);
    f.client_id = bytes(r[5]);
    f.client_version = bytes(r[6]);
    f.model = bytes(r[7]);
    f.reason = bytes(r[8]);
    f.fingerprint = bytes(r[9]);
    f.mutation_id = bytes(r[10]);
    f.entity_id = bytes(r[11]);
    f.operation = bytes(r[12]);
    f.http_status = r[13].as<int>();
    f.fields = decode.strings(bytes(r[14]), "failures.fields");
    f.message = bytes(r[15]);
    f.messages_json = bytes(r[16]);
    return f;
}

constexpr const char* client_columns =
    "client_id, client_version, instance, first_seen, last_seen, last_success, last_push_success, requests, pushes, "
    "pulls, mutations, failed_requests, conflicted_requests, failing_streak, seq";

ClientSummary read_client(const pqxx::row& r, const FailureThresholds& t) {
    ClientRow row;
    row.client_version = bytes(r[1]);
    row.instance = bytes(r[2]);
    row.first_seen_us = i64(r[3]);
    row.last_seen_us = i64(r[4]);
    row.last_success_us = opt_i64(r[5]);
    row.last_push_success_us = opt_i64(r[6]);
    row.requests = count(r[7]);
    row.pushes = count(r[8]);
    row.pulls = count(r[9]);
    row.mutations = count(r[10]);
    row.failed_requests = count(r[11]);
    row.conflicted_requests = count(r[12]);
    row.failing_streak = u32(r[13]);
    return client_summary(bytes(r[0]), row, t);
}

// " WHERE fingerprint = $1 [AND instance = $2]"
std::string group_scope(Params& p, std::string_view fingerprint, std::string_view instance) {
    std::string scope = " WHERE fingerprint = " + p.bytes(fingerprint);
    if (!instance.empty()) scope += " AND instance = " + p.bytes(instance);
    return scope;
}

}  // namespace

void write_rows(pqxx::transaction_base& tx, const std::vector<FailureRecord>& rows,
                const std::map<std::string, Micros>& request_started_at) {
    if (!rows.empty()) {
        MultiRow ins(tx, std::string("INSERT INTO failures (request_started_at, ") + failure_columns + ")");
        for (const auto& f : rows) {
            auto& p = ins.params();
            ins.add({p.i64(request_started_at.at(f.request_id)), p.text(f.id), p.text(to_string(f.kind)),
                     p.text(f.request_id), p.i64(f.started_at_us), p.bytes(f.instance), p.bytes(f.client_id),
                     p.bytes(f.client_version), p.bytes(f.model), p.bytes(f.reason), p.bytes(f.fingerprint),
                     p.bytes(f.mutation_id), p.bytes(f.entity_id), p.bytes(f.operation), p.i64(f.http_status),
                     p.bytes(columns::strings_json(f.fields)), p.bytes(f.message), p.bytes(f.messages_json)});
        }
        ins.finish();
    }
}

void add_counts(pqxx::transaction_base& tx, const FailureCounts& d) {
    // Rows go in key order (the maps are sorted), in every writer: row locks are always taken in
    // the same order, so concurrent batches wait for each other instead of deadlocking.
    if (!d.groups.empty()) {
        MultiRow up(tx,
                    "INSERT INTO failure_groups AS t (fingerprint, instance, kind, model, reason, fields, count, "
                    "first_seen, last_seen)",
                    " ON CONFLICT (fingerprint, instance) DO UPDATE SET count = t.count + excluded.count, "
                    "first_seen = LEAST(t.first_seen, excluded.first_seen), "
                    "last_seen = GREATEST(t.last_seen, excluded.last_seen)");
        for (const auto& [key, g] : d.groups) {
            auto& p = up.params();
            up.add({p.bytes(key.first), p.bytes(key.second), p.text(to_string(g.kind)), p.bytes(g.model),
                    p.bytes(g.reason), p.bytes(columns::strings_json(g.fields)), p.u64(g.seen.count),
                    p.i64(g.seen.first_us), p.i64(g.seen.last_us)});
        }
        up.finish();
    }
    if (!d.group_clients.empty()) {
        MultiRow up(tx,
                    "INSERT INTO failure_group_clients AS t (fingerprint, instance, client_id, count, first_seen, "
                    "last_seen)",
                    " ON CONFLICT (fingerprint, instance, client_id) DO UPDATE SET count = t.count + excluded.count, "
                    "first_seen = LEAST(t.first_seen, excluded.first_seen), "
                    "last_seen = GREATEST(t.last_seen, excluded.last_seen)");
        for (const auto& [key, c] : d.group_clients) {
            auto& p = up.params();
            up.add({p.bytes(std::get<0>(key)), p.bytes(std::get<1>(key)), p.bytes(std::get<2>(key)), p.u64(c.count),
                    p.i64(c.first_us), p.i64(c.last_us)});
        }
        up.finish();
    }
    if (!d.buckets.empty()) {
        MultiRow up(tx, "INSERT INTO failure_buckets AS t (fingerprint, instance, start, count)",
                    " ON CONFLICT (fingerprint, instance, start) DO UPDATE SET count = t.count + excluded.count");
        for (const auto& [key, n] : d.buckets) {
            auto& p = up.params();
            up.add({p.bytes(std::get<0>(key)), p.bytes(std::get<1>(key)), p.i64(std::get<2>(key)), p.u64(n)});
        }
        up.finish();
    }
    if (!d.clients.empty()) {
        // streak_reset is no column: the upsert reads it from the VALUES list (merge rules in
        // failure_counts.hpp). GREATEST ignores NULLs, which is what last_success needs.
        MultiRow up(
            tx,
            "WITH v (client_id, client_version, instance, first_seen, last_seen, last_success, "
            "last_push_success, requests, pushes, pulls, mutations, failed_requests, conflicted_requests, "
            "failing_streak, streak_reset) AS (",
            ") INSERT INTO clients AS t (client_id, client_version, instance, first_seen, last_seen, "
            "last_success, last_push_success, requests, pushes, pulls, mutations, failed_requests, "
            "conflicted_requests, failing_streak) "
            "SELECT client_id, client_version, instance, first_seen, last_seen, last_success, "
            "last_push_success, requests, pushes, pulls, mutations, failed_requests, conflicted_requests, "
            "failing_streak FROM v ORDER BY client_id "
            "ON CONFLICT (client_id) DO UPDATE SET "
            "client_version = CASE WHEN excluded.last_seen >= t.last_seen THEN excluded.client_version "
            "ELSE t.client_version END, "
            "instance = CASE WHEN excluded.last_seen >= t.last_seen THEN excluded.instance ELSE t.instance END, "
            "first_seen = LEAST(t.first_seen, excluded.first_seen), "
            "last_seen = GREATEST(t.last_seen, excluded.last_seen), "
            "last_success = GREATEST(t.last_success, excluded.last_success), "
            "last_push_success = GREATEST(t.last_push_success, excluded.last_push_success), "
            "requests = t.requests + excluded.requests, pushes = t.pushes + excluded.pushes, "
            "pulls = t.pulls + excluded.pulls, mutations = t.mutations + excluded.mutations, "
            "failed_requests = t.failed_requests + excluded.failed_requests, "
            "conflicted_requests = t.conflicted_requests + excluded.conflicted_requests, "
            "failing_streak = CASE WHEN (SELECT v.streak_reset FROM v WHERE v.client_id = excluded.client_id) "
            "THEN excluded.failing_streak ELSE t.failing_streak + excluded.failing_streak END");
        for (const auto& [id, c] : d.clients) {
            auto& p = up.params();
            up.add({p.bytes(id), p.bytes(c.client_version), p.bytes(c.instance), p.i64(c.first_seen_us),
                    p.i64(c.last_seen_us), p.opt_i64(c.last_success_us), p.opt_i64(c.last_push_success_us),
                    p.u64(c.requests), p.u64(c.pushes), p.u64(c.pulls), p.u64(c.mutations), p.u64(c.failed_requests),
                    p.u64(c.conflicted_requests), p.i64(c.failing_streak), p.boolean(c.streak_reset)});
        }
        up.finish();
    }
    if (!d.client_models.empty()) {
        MultiRow up(tx, "INSERT INTO client_models AS t (client_id, model, mutations, failures, conflicts, last_seen)",
                    " ON CONFLICT (client_id, model) DO UPDATE SET mutations = t.mutations + excluded.mutations, "
                    "failures = t.failures + excluded.failures, conflicts = t.conflicts + excluded.conflicts, "
                    "last_seen = GREATEST(t.last_seen, excluded.last_seen)");
        for (const auto& [key, c] : d.client_models) {
            auto& p = up.params();
            up.add({p.bytes(key.first), p.bytes(key.second), p.u64(c.mutations), p.u64(c.failures), p.u64(c.conflicts),
                    p.i64(c.last_seen_us)});
        }
        up.finish();
    }
    // Applied attempts only touch ids that failed before (no row: nothing to do), locked in key
    // order first; then the failed attempts are merged in.
    ArrayRows applied(tx, "WITH v (mutation_id, attempts, last_seen) AS (",
                      {ArrayRows::Type::bytea, ArrayRows::Type::int8, ArrayRows::Type::int8},
                      "), locked AS (SELECT p.mutation_id FROM poison_candidates p JOIN v USING (mutation_id) "
                      "ORDER BY p.mutation_id FOR UPDATE OF p) "
                      "UPDATE poison_candidates t SET attempts = t.attempts + v.attempts, failing_streak = 0, "
                      "last_seen = GREATEST(t.last_seen, v.last_seen) FROM v "
                      "WHERE t.mutation_id = v.mutation_id AND t.mutation_id IN (SELECT mutation_id FROM locked)");
    MultiRow failed(tx,
                    "WITH v (mutation_id, client_id, model, entity_id, attempts, failures, failing_streak, "
                    "last_reason, last_request_id, first_seen, last_seen, streak_reset) AS (",
                    ") INSERT INTO poison_candidates AS t (mutation_id, client_id, model, entity_id, attempts, "
                    "failures, failing_streak, last_reason, last_request_id, first_seen, last_seen) "
                    "SELECT mutation_id, client_id, model, entity_id, attempts, failures, failing_streak, "
                    "last_reason, last_request_id, first_seen, last_seen FROM v ORDER BY mutation_id "
                    "ON CONFLICT (mutation_id) DO UPDATE SET "
                    "client_id = CASE WHEN excluded.last_seen >= t.last_seen THEN excluded.client_id "
                    "ELSE t.client_id END, "
                    "last_reason = CASE WHEN excluded.last_seen >= t.last_seen THEN excluded.last_reason "
                    "ELSE t.last_reason END, "
                    "last_request_id = CASE WHEN excluded.last_seen >= t.last_seen THEN excluded.last_request_id "
                    "ELSE t.last_request_id END, "
                    "attempts = t.attempts + excluded.attempts, failures = t.failures + excluded.failures, "
                    "failing_streak = CASE WHEN (SELECT v.streak_reset FROM v WHERE v.mutation_id = "
                    "excluded.mutation_id) THEN excluded.failing_streak "
                    "ELSE t.failing_streak + excluded.failing_streak END, "
                    "first_seen = LEAST(t.first_seen, excluded.first_seen), "
                    "last_seen = GREATEST(t.last_seen, excluded.last_seen)");
    for (const auto& [mid, pr] : d.poison) {
        if (pr.failures == 0) {
            applied.bytes(mid).u64(pr.attempts).i64(pr.last_seen_us).end_row();
        } else {
            auto& p = failed.params();
            failed.add({p.bytes(mid), p.bytes(pr.client_id), p.bytes(pr.model), p.bytes(pr.entity_id),
                        p.u64(pr.attempts), p.u64(pr.failures), p.i64(pr.failing_streak), p.bytes(pr.last_reason),
                        p.bytes(pr.last_request_id), p.i64(pr.first_seen_us), p.i64(pr.last_seen_us),
                        p.boolean(pr.streak_reset)});
        }
    }
    applied.finish();
    failed.finish();
}

void prune(pqxx::transaction_base& tx, Micros before_us) {
    // Bucket starts are clamped to ±2^62 by failure_bucket: no overflow in "before - width".
    const Micros before = std::clamp<Micros>(before_us, -(Micros{1} << 62), Micros{1} << 62);
    for (const char* sql :
         {"DELETE FROM failure_groups WHERE last_seen < $1::int8",
          "DELETE FROM failure_group_clients WHERE last_seen < $1::int8",
          "DELETE FROM failure_buckets WHERE start <= $1::int8 - 300000000",
          "DELETE FROM clients WHERE last_seen < $1::int8", "DELETE FROM client_models WHERE last_seen < $1::int8",
          "DELETE FROM poison_candidates WHERE last_seen < $1::int8"})
        tx.exec_params(sql, static_cast<std::int64_t>(before));
}

void trim_poison(pqxx::transaction_base& tx, std::uint64_t keep) {
    // The (keep+1)-th newest last_seen is the cut-off: one walk of ix_poison_seen, no count(*).
    tx.exec_params("DELETE FROM poison_candidates WHERE mutation_id IN (SELECT mutation_id FROM poison_candidates "
                   "WHERE last_seen <= (SELECT last_seen FROM poison_candidates ORDER BY last_seen DESC LIMIT 1 "
                   "OFFSET $1::int8) ORDER BY last_seen LIMIT $2::int8)",
                   static_cast<std::int64_t>(std::min<std::uint64_t>(keep, INT64_MAX)),
                   static_cast<std::int64_t>(max_poison_trim_per_call));
}

Page<FailureRecord> list(pqxx::transaction_base& tx, const FailureFilter& f, const PageRequest& page) {
    validate_page(page);
    Params p;
    std::string sql = std::string("SELECT ") + failure_columns + " FROM failures WHERE TRUE";
    if (!f.fingerprint.empty()) sql += " AND fingerprint = " + p.bytes(f.fingerprint);
    if (!f.model.empty()) sql += " AND model = " + p.bytes(f.model);
    if (!f.client_id.empty()) sql += " AND client_id = " + p.bytes(f.client_id);
    if (!f.reason.empty()) sql += " AND reason = " + p.bytes(f.reason);
    if (!f.instance.empty()) sql += " AND instance = " + p.bytes(f.instance);
    if (f.kind) sql += " AND kind = " + p.text(to_string(*f.kind));
    if (f.from_us) sql += " AND started_at >= " + p.i64(*f.from_us);
    newest_first(sql, p, "started_at", "id", f.to_us, page);
    Page<FailureRecord> out;
    for (const auto& row : p.exec(tx, sql)) out.items.push_back(read_failure(row));
    finish_page(out, page.limit, [](const FailureRecord& x) { return CursorKey{x.started_at_us, x.id}; });
    return out;
}

std::optional<FailureGroup> group(pqxx::transaction_base& tx, std::string_view fingerprint, std::string_view instance,
                                  Micros now_us, const FailureThresholds& t, bool hourly) {
    // The group's texts are the same in every instance's row (the fingerprint hashes them);
    // the first instance's row speaks for them, as in the memory backend.
    Params p;
    const std::string scope = group_scope(p, fingerprint, instance);
    const auto head = p.exec(tx,
                             "SELECT kind, model, reason, fields, (sum(count) OVER ())::int8, min(first_seen) "
                             "OVER (), max(last_seen) OVER () FROM failure_groups" +
                                 scope + " ORDER BY instance LIMIT 1");
    if (head.empty()) return std::nullopt;
    FailureGroup g;
    g.fingerprint = std::string(fingerprint);
    auto kind = parse_failure_kind(text(head[0][0]));
    if (!kind) decode.corrupt("failure_groups.kind");
    g.kind = *kind;
    g.model = bytes(head[0][1]);
    g.reason = bytes(head[0][2]);
    g.fields = decode.strings(bytes(head[0][3]), "failure_groups.fields");
    g.count = count(head[0][4]);
    g.first_seen_us = i64(head[0][5]);
    g.last_seen_us = i64(head[0][6]);

    g.clients = count(p.exec(tx, "SELECT count(DISTINCT client_id) FROM failure_group_clients" + scope)[0][0]);
    // Candidates in failure order: the top few, then every client that could be systematic.
    {
        Params c;
        const std::string cscope = group_scope(c, fingerprint, instance);
        const std::string min_failures = c.u64(t.systematic_min_failures);
        const std::string top = c.i64(static_cast<std::int64_t>(max_top_clients));
        const auto rows = c.exec(
            tx,
            "SELECT client_id, n, seen FROM (SELECT client_id, n, seen, row_number() OVER (ORDER BY n DESC, "
            "client_id) AS rn FROM (SELECT client_id, sum(count)::int8 AS n, max(last_seen) AS seen "
            "FROM failure_group_clients" +
                cscope + " GROUP BY client_id) g) x WHERE rn <= " + top + " OR n >= " + min_failures + " ORDER BY rn");
        for (const auto& row : rows) {
            FailureGroupClient c;
            c.client_id = bytes(row[0]);
            c.failures = count(row[1]);
            c.last_seen_us = i64(row[2]);
            g.top_clients.push_back(std::move(c));
        }
    }
    if (!g.top_clients.empty()) {
        Params a;
        std::string ids;
        for (const auto& c : g.top_clients) ids += (ids.empty() ? "" : ", ") + a.bytes(c.client_id);
        const std::string sql =
            g.kind == FailureKind::mutation
                ? "SELECT client_id, mutations FROM client_models WHERE model = " + a.bytes(g.model) +
                      " AND client_id IN (" + ids + ")"
                : "SELECT client_id, requests FROM clients WHERE client_id IN (" + ids + ")";
        std::map<std::string, std::uint64_t> attempts;
        for (const auto& row : a.exec(tx, sql)) attempts[bytes(row[0])] = count(row[1]);
        for (auto& c : g.top_clients)
            if (auto it = attempts.find(c.client_id); it != attempts.end()) c.attempts = it->second;
    }

    GroupBuckets buckets(now_us, hourly);
    {
        Params b;
        const std::string bscope = group_scope(b, fingerprint, instance);
        const std::string from = b.i64(buckets.from_us()), to = b.i64(buckets.to_us());
        for (const auto& row : b.exec(tx, "SELECT start, sum(count)::int8 FROM failure_buckets" + bscope +
                                              " AND start >= " + from + " AND start < " + to + " GROUP BY start"))
            buckets.add(i64(row[0]), count(row[1]));
    }
    buckets.finish(g);

    for (const auto& row :
         p.exec(tx, "SELECT id, request_id FROM failures" + scope + " ORDER BY started_at DESC, id DESC LIMIT 5")) {
        g.sample_ids.push_back(text(row[0]));
        g.sample_request_ids.push_back(text(row[1]));
    }
    finish_group(g, t);
    return g;
}

std::vector<FailureGroup> groups(pqxx::transaction_base& tx, const FailureGroupQuery& q, const FailureThresholds& t) {
    validate_limit(q.limit);
    Params p;
    std::string sql =
        "SELECT fingerprint, sum(count)::int8 AS n, max(last_seen) AS seen FROM failure_groups WHERE TRUE";
    if (!q.instance.empty()) sql += " AND instance = " + p.bytes(q.instance);
    if (!q.model.empty()) sql += " AND model = " + p.bytes(q.model);
    if (!q.reason.empty()) sql += " AND reason = " + p.bytes(q.reason);
    if (!q.client_id.empty()) {
        sql += " AND fingerprint IN (SELECT fingerprint FROM failure_group_clients WHERE client_id = " +
               p.bytes(q.client_id);
        if (!q.instance.empty()) sql += " AND instance = " + p.bytes(q.instance);
        sql += ")";
    }
    sql += q.sort == FailureGroupQuery::Sort::last_seen ? " GROUP BY fingerprint ORDER BY seen DESC, fingerprint"
                                                        : " GROUP BY fingerprint ORDER BY n DESC, fingerprint";
    // Systematic-only has to look at groups until enough qualify; otherwise the SQL limits.
    if (!q.systematic_only) sql += " LIMIT " + p.i64(static_cast<std::int64_t>(q.limit));
    std::vector<std::string> fingerprints;
    for (const auto& row : p.exec(tx, sql)) fingerprints.push_back(bytes(row[0]));
    return first_groups(fingerprints, q,
                        [&](const std::string& fp) { return group(tx, fp, q.instance, q.now_us, t, false); });
}

Page<ClientSummary> clients(pqxx::transaction_base& tx, const ClientFilter& filter, const PageRequest& page,
                            const FailureThresholds& t) {
    validate_page(page);
    Params p;
    std::string sql = std::string("SELECT ") + client_columns + " FROM clients WHERE TRUE";
    if (filter.stuck_only) sql += " AND failing_streak >= " + p.i64(std::max<std::uint32_t>(1, t.stuck_after_pushes));
    if (!page.cursor.empty()) {
        auto c = decode_cursor(page.cursor);
        const std::int64_t seq = client_cursor_seq(c);
        sql += " AND (last_seen, seq) < (" + p.i64(c.primary) + ", " + p.i64(seq) + ")";
    }
    sql += " ORDER BY last_seen DESC, seq DESC LIMIT " + p.i64(static_cast<std::int64_t>(page.limit + 1));
    Page<ClientSummary> out;
    std::vector<std::int64_t> seqs;
    for (const auto& row : p.exec(tx, sql)) {
        out.items.push_back(read_client(row, t));
        seqs.push_back(i64(row[14]));
    }
    if (out.items.size() > page.limit)
        out.next_cursor = encode_cursor({out.items[page.limit - 1].last_seen_us, std::to_string(seqs[page.limit - 1])});
    if (out.items.size() > page.limit) out.items.resize(page.limit);
    return out;
}

std::optional<ClientSummary> client(pqxx::transaction_base& tx, std::string_view client_id,
                                    const FailureThresholds& t) {
    Params p;
    const auto rows =
        p.exec(tx, std::string("SELECT ") + client_columns + " FROM clients WHERE client_id = " + p.bytes(client_id));
    if (rows.empty()) return std::nullopt;
    return read_client(rows[0], t);
}

std::vector<ClientModelCounts> client_models(pqxx::transaction_base& tx, std::string_view client_id) {
    Params p;
    std::vector<ClientModelCounts> out;
    for (const auto& row : p.exec(tx,
                                  "SELECT model, mutations, failures, conflicts FROM client_models WHERE "
                                  "client_id = " +
                                      p.bytes(client_id) + " ORDER BY mutations DESC, model"))
        out.push_back({bytes(row[0]), count(row[1]), count(row[2]), count(row[3])});
    return out;
}

std::vector<PoisonMutation> poison(pqxx::transaction_base& tx, const PoisonQuery& q, const FailureThresholds& t) {
    validate_limit(q.limit);
    Params p;
    std::string sql =
        "SELECT p.mutation_id, p.client_id, p.model, p.entity_id, p.attempts, p.failures, p.failing_streak, "
        "p.last_reason, p.last_request_id, p.first_seen, p.last_seen, c.last_success "
        "FROM poison_candidates p LEFT JOIN clients c ON c.client_id = p.client_id WHERE p.failing_streak >= " +
        p.i64(std::max<std::uint32_t>(1, t.poison_after_failures));
    if (!q.client_id.empty()) sql += " AND p.client_id = " + p.bytes(q.client_id);
    sql += " ORDER BY p.last_seen DESC, p.mutation_id LIMIT " + p.i64(static_cast<std::int64_t>(q.limit));
    std::vector<PoisonMutation> out;
    for (const auto& row : p.exec(tx, sql)) {
        PoisonMutation m;
        m.mutation_id = bytes(row[0]);
        m.client_id = bytes(row[1]);
        m.model = bytes(row[2]);
        m.entity_id = bytes(row[3]);
        m.attempts = count(row[4]);
        m.failures = count(row[5]);
        m.failing_streak = u32(row[6]);
        m.last_reason = bytes(row[7]);
        m.last_request_id = bytes(row[8]);
        m.first_seen_us = i64(row[9]);
        m.last_seen_us = i64(row[10]);
        m.client_last_success_us = opt_i64(row[11]);
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace tether::detail::pg::failures
