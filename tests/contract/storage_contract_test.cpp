// The Storage contract: one suite, run against every backend. A backend is correct when it
// passes this file unchanged; SQLite-specific behaviour (files, schema, WAL) is at the end.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "support/backends.hpp"
#include "support/pages.hpp"
#include "support/temp_dir.hpp"
#include "tether/errors.hpp"
#include "tether/storage.hpp"
#include "tether/telemetry.hpp"

#ifdef TETHER_HAVE_SQLITE
#include <SQLiteCpp/SQLiteCpp.h>

#include "storage/sqlite/schema.hpp"
#include "tether/sqlite_storage.hpp"
#endif

using namespace tether;

namespace {

// Writes `rows` newest first (not in time order) in batches of 1, 2, …, max_batch, 1, 2, ….
void write_unevenly(Storage& st, const std::vector<CapturedRequest>& rows, std::size_t max_batch) {
    std::vector<CapturedRequest> batch;
    std::size_t size = 1;
    for (std::size_t i = rows.size(); i-- > 0;) {
        batch.push_back(rows[i]);
        if (batch.size() == size) {
            st.write_batch(batch);
            batch.clear();
            size = size % max_batch + 1;
        }
    }
    if (!batch.empty()) st.write_batch(batch);
}

// Stops and joins a writer thread on scope exit: a failed REQUIRE must not leave it running.
struct JoinOnExit {
    std::atomic<bool>& done;
    std::thread& t;
    ~JoinOnExit() {
        done = true;
        if (t.joinable()) t.join();
    }
};


constexpr Micros T0 = 1'700'000'000'000'000;

std::string make_id(char tag, long n) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%c%025ld", tag, n);
    return buf;
}

CapturedRequest simple_request(long n, Micros started, std::string client = "c1", int mutations = 0,
                               std::string model = "Task") {
    CapturedRequest c;
    auto& r = c.request;
    r.id = make_id('R', n);
    r.client_id = std::move(client);
    r.started_at_us = started;
    r.request_body = "{\"n\":" + std::to_string(n) + "}";
    r.mutation_count = static_cast<std::uint32_t>(mutations);
    if (mutations) r.models = {model};
    for (int i = 0; i < mutations; ++i) {
        MutationRecord m;
        m.id = make_id('M', n * 1000 + i);
        m.request_id = r.id;
        m.seq = static_cast<std::uint32_t>(i);
        m.started_at_us = started;
        m.model = model;
        m.payload_json = "{}";
        c.mutations.push_back(std::move(m));
    }
    return c;
}

std::string b64url(std::string_view in) {  // independent encoder for crafting bad cursors
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned n = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        for (int s = 18; s >= 0; s -= 6) out += a[(n >> s) & 63];
    }
    if (in.size() - i == 1) {
        unsigned n = (unsigned char)in[i] << 16;
        out += a[(n >> 18) & 63];
        out += a[(n >> 12) & 63];
    } else if (in.size() - i == 2) {
        unsigned n = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        for (int s = 18; s >= 6; s -= 6) out += a[(n >> s) & 63];
    }
    return out;
}

template <class T>
std::vector<std::string> ids_of(const std::vector<T>& v) {
    std::vector<std::string> out;
    for (const auto& r : v) out.push_back(r.id);
    return out;
}

std::vector<RequestRecord> walk(Storage& st, const RequestFilter& f, std::size_t limit,
                                const std::function<void()>& between_pages = {}) {
    return test::walk_pages([&](const PageRequest& p) { return st.list_requests(f, p); }, limit, between_pages);
}

std::vector<MutationRecord> walk_mutations(Storage& st, const std::string& request_id, const MutationFilter& f,
                                           std::size_t limit) {
    return test::walk_pages([&](const PageRequest& p) { return st.list_mutations(request_id, f, p); }, limit);
}

void check_same(const std::optional<ParseFailure>& a, const std::optional<ParseFailure>& b) {
    REQUIRE(a.has_value() == b.has_value());
    if (!a) return;
    CHECK(a->message == b->message);
    CHECK(a->offset == b->offset);
    CHECK(a->line == b->line);
    CHECK(a->column == b->column);
}

// Field by field, so a failure names the field. `summary`: b is a list item (no details).
void check_same(const RequestRecord& a, const RequestRecord& b, bool summary = false) {
    CHECK(a.id == b.id);
    CHECK(a.kind == b.kind);
    CHECK(a.client_id == b.client_id);
    CHECK(a.client_version == b.client_version);
    CHECK(a.instance == b.instance);
    CHECK(a.started_at_us == b.started_at_us);
    CHECK(a.duration_us == b.duration_us);
    CHECK(a.http_status == b.http_status);
    CHECK(a.outcome == b.outcome);
    CHECK(a.mutation_count == b.mutation_count);
    CHECK(a.applied == b.applied);
    CHECK(a.rejected == b.rejected);
    CHECK(a.conflicts == b.conflicts);
    CHECK(a.snapshots == b.snapshots);
    CHECK(a.models == b.models);
    CHECK(a.last_sync_cursor == b.last_sync_cursor);
    CHECK(a.new_sync_cursor == b.new_sync_cursor);
    CHECK(a.pull_limit == b.pull_limit);
    CHECK(a.has_more == b.has_more);
    CHECK(a.request_truncated == b.request_truncated);
    CHECK(a.response_truncated == b.response_truncated);
    CHECK(a.request_body_dropped == b.request_body_dropped);
    CHECK(a.response_body_dropped == b.response_body_dropped);
    CHECK(a.request_body_scrubbed == b.request_body_scrubbed);
    CHECK(a.response_body_scrubbed == b.response_body_scrubbed);
    check_same(a.request_parse_error, b.request_parse_error);
    check_same(a.response_parse_error, b.response_parse_error);
    CHECK(a.replay_of == b.replay_of);
    CHECK(a.recorded_at_us == b.recorded_at_us);
    if (summary) {
        CHECK(b.request_body.empty());
        CHECK(b.response_body.empty());
        CHECK(b.headers.empty());
        CHECK(b.redacted_paths.empty());
        CHECK(b.notes.empty());
        return;
    }
    CHECK(a.request_body == b.request_body);
    CHECK(a.response_body == b.response_body);
    REQUIRE(a.headers.size() == b.headers.size());
    for (std::size_t i = 0; i < a.headers.size(); ++i) {
        CHECK(a.headers[i].name == b.headers[i].name);
        CHECK(a.headers[i].value == b.headers[i].value);
    }
    CHECK(a.redacted_paths == b.redacted_paths);
    REQUIRE(a.notes.size() == b.notes.size());
    for (std::size_t i = 0; i < a.notes.size(); ++i) {
        CHECK(a.notes[i].where == b.notes[i].where);
        CHECK(a.notes[i].path == b.notes[i].path);
        CHECK(a.notes[i].message == b.notes[i].message);
        CHECK(a.notes[i].protocol_error == b.notes[i].protocol_error);
    }
}

void check_same(const MutationRecord& a, const MutationRecord& b) {
    CHECK(a.id == b.id);
    CHECK(a.request_id == b.request_id);
    CHECK(a.seq == b.seq);
    CHECK(a.client_id == b.client_id);
    CHECK(a.instance == b.instance);
    CHECK(a.started_at_us == b.started_at_us);
    CHECK(a.mutation_id == b.mutation_id);
    CHECK(a.entity_id == b.entity_id);
    CHECK(a.model == b.model);
    CHECK(a.operation == b.operation);
    CHECK(a.version == b.version);
    CHECK(a.client_timestamp_ms == b.client_timestamp_ms);
    CHECK(a.payload_json == b.payload_json);
    CHECK(a.payload_redacted == b.payload_redacted);
    CHECK(a.outcome == b.outcome);
    CHECK(a.reason == b.reason);
    CHECK(a.rejection_data_json == b.rejection_data_json);
    CHECK(a.validation_json == b.validation_json);
    REQUIRE(a.conflict.has_value() == b.conflict.has_value());
    if (a.conflict) {
        CHECK(a.conflict->reason == b.conflict->reason);
        CHECK(a.conflict->resolver == b.conflict->resolver);
        CHECK(a.conflict->resolution == b.conflict->resolution);
        CHECK(a.conflict->server_state_json == b.conflict->server_state_json);
        CHECK(a.conflict->server_updated_at == b.conflict->server_updated_at);
        CHECK(a.conflict->reported_by_host == b.conflict->reported_by_host);
        CHECK(a.conflict->reported_in_response == b.conflict->reported_in_response);
        CHECK(a.conflict->fields == b.conflict->fields);
    }
    CHECK(a.state_before_json == b.state_before_json);
    CHECK(a.state_after_json == b.state_after_json);
    CHECK(a.payload_diff == b.payload_diff);
    CHECK(a.change_diff == b.change_diff);
}

template <class F>
void require_invalid_argument(F&& f, const std::string& parameter) {
    try {
        f();
        FAIL("expected InvalidArgument(" << parameter << ")");
    } catch (const InvalidArgument& e) {
        CHECK(e.parameter() == parameter);
    }
}

// A mix of kinds, clients, instances, outcomes, models and tied start times, plus an
// oracle that applies the documented filter semantics to it.
struct Dataset {
    std::vector<CapturedRequest> rows;

    explicit Dataset(int n = 80) {
        const char* models[] = {"Task", "Project", "Note"};
        for (int i = 0; i < n; ++i) {
            long scrambled = (i * 37L) % 101;  // ids not in insertion or time order
            auto c = simple_request(scrambled, T0 + (i / 3) * 1000, "c" + std::to_string(i % 5));
            auto& r = c.request;
            r.kind = i % 4 == 0 ? ExchangeKind::pull : ExchangeKind::push;
            r.instance = "i" + std::to_string(i % 2);
            r.outcome = static_cast<RequestOutcome>((i * 7) % 4);
            if (r.kind == ExchangeKind::pull) {
                r.models = {models[i % 3]};  // pulled models exist only in `models`
                r.snapshots = 2;
            } else {
                for (int k = 0; k < 1 + i % 3; ++k) {
                    MutationRecord m;
                    m.id = make_id('M', scrambled * 10 + k);
                    m.seq = static_cast<std::uint32_t>(k);
                    m.model = models[(i + k) % 3];
                    c.mutations.push_back(m);
                }
                // Sometimes `models` is left empty: the mutations alone must make the filter match.
                if (i % 3 != 0)
                    for (const auto& m : c.mutations) r.models.push_back(m.model);
                std::sort(r.models.begin(), r.models.end());
                r.models.erase(std::unique(r.models.begin(), r.models.end()), r.models.end());
                if (i % 7 == 0) r.models.push_back("OnlyListed");
                r.mutation_count = static_cast<std::uint32_t>(c.mutations.size());
            }
            rows.push_back(std::move(c));
        }
    }

    void write_to(Storage& st) const { write_unevenly(st, rows, 7); }

    static bool matches(const CapturedRequest& c, const RequestFilter& f) {
        const auto& r = c.request;
        if (f.kind && r.kind != *f.kind) return false;
        if (!f.client_id.empty() && r.client_id != f.client_id) return false;
        if (!f.instance.empty() && r.instance != f.instance) return false;
        if (f.outcome && r.outcome != *f.outcome) return false;
        if (f.failed_only && !(r.outcome == RequestOutcome::rejected || r.outcome == RequestOutcome::error))
            return false;
        if (f.from_us && r.started_at_us < *f.from_us) return false;
        if (f.to_us && r.started_at_us >= *f.to_us) return false;
        if (!f.model.empty()) {
            bool has = std::count(r.models.begin(), r.models.end(), f.model) > 0;
            for (const auto& m : c.mutations) has = has || m.model == f.model;
            if (!has) return false;
        }
        return true;
    }

    std::vector<std::string> expected(const RequestFilter& f) const {
        std::vector<const RequestRecord*> hits;
        for (const auto& c : rows)
            if (matches(c, f)) hits.push_back(&c.request);
        std::sort(hits.begin(), hits.end(), [](auto* a, auto* b) {
            return std::tie(a->started_at_us, a->id) > std::tie(b->started_at_us, b->id);
        });
        std::vector<std::string> out;
        for (auto* r : hits) out.push_back(r->id);
        return out;
    }
};

// ---- Rollups ---------------------------------------------------------------------------

constexpr Micros W = five_minutes_us;
constexpr Micros H = one_hour_us;
constexpr Micros B0 = T0 - T0 % H;  // an hour boundary, so also a five-minute one

// A rollup whose every field is set and tied to `n`, so that mix-ups show.
Rollup make_rollup(Micros width, Micros start, std::string instance, std::uint64_t n) {
    Rollup r;
    r.width_us = width;
    r.start_us = start;
    r.instance = std::move(instance);
    r.requests = 10 * n + 1;
    r.pushes = 10 * n + 2;
    r.pulls = 10 * n + 3;
    r.mutations = 10 * n + 4;
    r.snapshots = 10 * n + 5;
    r.applied = 10 * n + 6;
    r.rejected = 10 * n + 7;
    r.conflicts = 10 * n + 8;
    r.conflict_requests = 10 * n + 9;
    r.failed_requests = 10 * n + 10;
    r.duration_sum_us = 1000 * n + 11;
    r.duration_max_us = 100 * n + 12;
    r.latency.add(0.25);  // below 1 µs: bin 0
    r.latency.add(100.0 * static_cast<double>(n + 1), n + 1);
    r.latency.add(2.5e6);
    r.models["Task"] = {n + 1, n, 1};
    r.models["Note \"q\" \xC3\xA9"] = {2 * n, 0, n};
    r.clients["c-" + std::to_string(n)] = {n + 1, 2 * n, n % 2};
    r.clients[std::string("odd\0\"\\\xFF", 6)] = {1, 0, 0};  // ids are bytes: NUL, quotes, invalid UTF-8
    return r;
}

RollupBatch rollups_of(std::vector<Rollup> items, std::size_t max_clients = 500) {
    RollupBatch b;
    b.items = std::move(items);
    b.max_clients_per_bucket = max_clients;
    return b;
}

void check_same(const Rollup& a, const Rollup& b) {
    CHECK(a.width_us == b.width_us);
    CHECK(a.start_us == b.start_us);
    CHECK(a.instance == b.instance);
    CHECK(a.requests == b.requests);
    CHECK(a.pushes == b.pushes);
    CHECK(a.pulls == b.pulls);
    CHECK(a.mutations == b.mutations);
    CHECK(a.snapshots == b.snapshots);
    CHECK(a.applied == b.applied);
    CHECK(a.rejected == b.rejected);
    CHECK(a.conflicts == b.conflicts);
    CHECK(a.conflict_requests == b.conflict_requests);
    CHECK(a.failed_requests == b.failed_requests);
    CHECK(a.duration_sum_us == b.duration_sum_us);
    CHECK(a.duration_max_us == b.duration_max_us);
    CHECK(a.latency.count() == b.latency.count());
    CHECK(a.latency.bins() == b.latency.bins());
    CHECK(a.models == b.models);
    CHECK(a.clients == b.clients);
}

using RollupKey = std::tuple<Micros, Micros, std::string>;
std::vector<RollupKey> keys_of(const std::vector<Rollup>& v) {
    std::vector<RollupKey> out;
    for (const auto& r : v) out.emplace_back(r.width_us, r.start_us, r.instance);
    return out;
}

std::uint64_t client_total(const Rollup& r) {
    std::uint64_t n = 0;
    for (const auto& [id, c] : r.clients) n += c.requests;
    return n;
}

// ---- Conflicts ---------------------------------------------------------------------------

// What a stored conflicted mutation lists as, built here independently of the backends:
// the mutation's own columns, plus the client version of its request.
ConflictRecord expected_conflict(const MutationRecord& m, const RequestRecord& r) {
    ConflictRecord c;
    c.id = m.id;
    c.request_id = r.id;
    c.mutation_id = m.mutation_id;
    c.entity_id = m.entity_id;
    c.model = m.model;
    c.operation = m.operation;
    c.client_id = m.client_id;
    c.client_version = r.client_version;
    c.instance = m.instance;
    c.started_at_us = m.started_at_us;
    c.payload_json = m.payload_json;
    c.server_state_json = m.conflict->server_state_json;
    c.state_before_json = m.state_before_json;
    c.resolver = m.conflict->resolver;
    c.resolution = m.conflict->resolution;
    c.reason = m.conflict->reason.empty() ? m.reason : m.conflict->reason;
    c.server_updated_at = m.conflict->server_updated_at;
    c.outcome = m.outcome;
    c.fields = m.conflict->fields;
    c.reported_by_host = m.conflict->reported_by_host;
    c.reported_in_response = m.conflict->reported_in_response;
    return c;
}

void check_same(const ConflictRecord& a, const ConflictRecord& b) {
    CHECK(a.id == b.id);
    CHECK(a.request_id == b.request_id);
    CHECK(a.mutation_id == b.mutation_id);
    CHECK(a.entity_id == b.entity_id);
    CHECK(a.model == b.model);
    CHECK(a.operation == b.operation);
    CHECK(a.client_id == b.client_id);
    CHECK(a.client_version == b.client_version);
    CHECK(a.instance == b.instance);
    CHECK(a.started_at_us == b.started_at_us);
    CHECK(a.payload_json == b.payload_json);
    CHECK(a.server_state_json == b.server_state_json);
    CHECK(a.state_before_json == b.state_before_json);
    CHECK(a.resolver == b.resolver);
    CHECK(a.resolution == b.resolution);
    CHECK(a.reason == b.reason);
    CHECK(a.server_updated_at == b.server_updated_at);
    CHECK(a.outcome == b.outcome);
    CHECK(a.fields == b.fields);
    CHECK(a.reported_by_host == b.reported_by_host);
    CHECK(a.reported_in_response == b.reported_in_response);
}

std::vector<ConflictRecord> walk_conflicts(Storage& st, const ConflictFilter& f, std::size_t limit,
                                           const std::function<void()>& between_pages = {}) {
    return test::walk_pages([&](const PageRequest& p) { return st.list_conflicts(f, p); }, limit, between_pages);
}

// A request whose mutations carry the request's client, instance and time, as the pipeline
// writes them.
CapturedRequest request_at(long n, Micros started, std::string client, std::string instance,
                           std::string client_version = "") {
    CapturedRequest c = simple_request(n, started, std::move(client));
    c.request.instance = std::move(instance);
    c.request.client_version = std::move(client_version);
    return c;
}

// Appends a mutation (conflicted when `fields` is set) to `c`; `k` makes its id.
MutationRecord& add_mutation(CapturedRequest& c, long k, std::string model, std::string entity,
                             std::optional<std::vector<std::string>> fields = std::vector<std::string>{}) {
    MutationRecord m;
    m.id = make_id('M', k);
    m.request_id = c.request.id;
    m.seq = static_cast<std::uint32_t>(c.mutations.size());
    m.client_id = c.request.client_id;
    m.instance = c.request.instance;
    m.started_at_us = c.request.started_at_us;
    m.mutation_id = "mut-" + std::to_string(k);
    m.entity_id = std::move(entity);
    m.model = std::move(model);
    m.operation = "update";
    m.payload_json = "{\"k\":" + std::to_string(k) + "}";
    if (fields) {
        m.outcome = MutationOutcome::conflict;
        m.reason = "conflict";
        ConflictInfo ci;
        ci.reason = "conflict";
        ci.resolver = "lww";
        ci.resolution = Resolution::server_wins;
        ci.server_state_json = "{\"k\":0}";
        ci.reported_by_host = true;
        for (const auto& path : *fields) ci.fields.push_back({path, ChangeOp::changed, "0", std::to_string(k)});
        m.conflict = std::move(ci);
    } else {
        m.outcome = MutationOutcome::applied;
    }
    c.mutations.push_back(std::move(m));
    c.request.mutation_count = static_cast<std::uint32_t>(c.mutations.size());
    return c.mutations.back();
}

// Conflicts of every kind spread over hours, instances, clients, models, entities, resolvers
// and resolutions, with tied times and ids in no order; plus an oracle for lists and patterns.
struct ConflictDataset {
    std::vector<CapturedRequest> rows;

    explicit ConflictDataset(int n = 60, long id_base = 0, Micros start = B0) {
        const char* models[] = {"Task", "Project", "Note"};
        const char* resolvers[] = {"", "lww", "note_merge"};
        const char* paths[] = {"/title", "/done", "/tags/0", "/a~1b"};
        for (int i = 0; i < n; ++i) {
            const long scrambled = id_base + (i * 37L) % 101;
            const Micros t = start + (i / 3) * 17 * 60 * 1'000'000LL;  // three per time, ~6 hours in all
            auto c = request_at(scrambled, t, "c" + std::to_string(i % 4), "i" + std::to_string(i % 2),
                                "v" + std::to_string(i % 3));
            for (int k = 0; k < 1 + i % 3; ++k) {
                const int x = i + k;
                std::optional<std::vector<std::string>> fields;
                if ((i + 2 * k) % 3 != 1) {
                    fields.emplace();
                    for (int f = 0; f < x % 4; ++f) fields->push_back(paths[(x + f) % 4]);
                }
                auto& m = add_mutation(c, scrambled * 10 + k, models[x % 3], "e" + std::to_string((i * k + i) % 5),
                                       fields);
                if (!m.conflict) continue;
                auto& ci = *m.conflict;
                ci.resolver = resolvers[(i / 5 + k) % 3];
                ci.reported_by_host = !ci.resolver.empty();
                ci.reported_in_response = x % 2 == 0 || ci.resolver.empty();
                ci.resolution = x % 5 == 4 ? std::nullopt : std::optional<Resolution>(Resolution((i / 2 + k) % 4));
                ci.server_updated_at = "2026-01-01T00:00:0" + std::to_string(x % 10) + "Z";
                // Client wins and merges end applied; a rejecting resolver rejects.
                if (ci.resolution == Resolution::client_wins || ci.resolution == Resolution::merged)
                    m.outcome = MutationOutcome::applied;
                else if (ci.resolution == Resolution::rejected)
                    m.outcome = MutationOutcome::rejected;
                if (x % 7 == 0) ci.reason.clear();  // falls back to the mutation's reason
                if (x % 7 == 0) m.reason = "stale_update";
                m.state_before_json = x % 2 ? "{\"k\":-1}" : "";
            }
            rows.push_back(std::move(c));
        }
    }

    void write_to(Storage& st) const { write_unevenly(st, rows, 5); }

    static bool matches(const MutationRecord& m, const ConflictFilter& f) {
        if (!m.conflict) return false;
        if (!f.model.empty() && m.model != f.model) return false;
        if (!f.client_id.empty() && m.client_id != f.client_id) return false;
        if (!f.entity_id.empty() && m.entity_id != f.entity_id) return false;
        if (!f.instance.empty() && m.instance != f.instance) return false;
        if (!f.resolver.empty() && m.conflict->resolver != f.resolver) return false;
        if (f.resolution && m.conflict->resolution != f.resolution) return false;
        if (f.from_us && m.started_at_us < *f.from_us) return false;
        if (f.to_us && m.started_at_us >= *f.to_us) return false;
        return true;
    }

    std::vector<ConflictRecord> expected(const ConflictFilter& f) const {
        std::vector<ConflictRecord> out;
        for (const auto& c : rows)
            for (const auto& m : c.mutations)
                if (matches(m, f)) out.push_back(expected_conflict(m, c.request));
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
            return std::tie(a.started_at_us, a.id) > std::tie(b.started_at_us, b.id);
        });
        return out;
    }
};

Micros floor_hour(Micros t) { return t - ((t % H) + H) % H; }

// The documented pattern semantics, computed from the rows themselves.
ConflictPatterns expected_patterns(const std::vector<CapturedRequest>& rows, const ConflictPatternQuery& q) {
    ConflictPatterns p;
    p.from_us = floor_hour(q.from_us);
    p.to_us = floor_hour(q.to_us) == q.to_us ? q.to_us : floor_hour(q.to_us) + H;
    std::map<Micros, std::uint64_t> hours;
    for (Micros h = p.from_us; h < p.to_us; h += H) hours[h] = 0;
    std::map<std::string, std::uint64_t> models, clients;
    std::map<std::pair<std::string, std::string>, std::uint64_t> model_clients, fields;
    std::map<std::pair<std::string, std::string>, std::pair<std::uint64_t, Micros>> entities;
    for (const auto& c : rows)
        for (const auto& m : c.mutations) {
            if (!m.conflict || (!q.instance.empty() && m.instance != q.instance)) continue;
            const Micros h = floor_hour(m.started_at_us);
            if (h < p.from_us || h >= p.to_us) continue;
            ++hours[h];
            ++p.total;
            ++models[m.model];
            ++clients[m.client_id];
            ++model_clients[{m.model, m.client_id}];
            auto& e = entities[{m.model, m.entity_id}];
            ++e.first;
            e.second = std::max(e.second, m.started_at_us);
            std::set<std::string> paths;
            for (const auto& f : m.conflict->fields) paths.insert(f.path);
            for (const auto& path : paths) ++fields[{m.model, path}];
        }
    for (const auto& [h, n] : hours) p.by_bucket.push_back({h, n});
    for (const auto& [k, n] : models) p.by_model.push_back({k, n});
    for (const auto& [k, n] : clients) p.by_client.push_back({k, n});
    for (const auto& [k, n] : model_clients) p.by_model_client.push_back({k.first, k.second, n});
    for (const auto& [k, e] : entities) p.top_entities.push_back({k.first, k.second, e.first, e.second});
    for (const auto& [k, n] : fields) p.top_fields.push_back({k.first, k.second, n});
    auto sort_cut = [&](auto& v, auto less) {
        std::stable_sort(v.begin(), v.end(), less);
        if (v.size() > q.top_n) v.resize(q.top_n);
    };
    // Maps iterate in name order already; a stable sort by count keeps it for ties.
    sort_cut(p.by_model, [](auto& a, auto& b) { return a.conflicts > b.conflicts; });
    sort_cut(p.by_client, [](auto& a, auto& b) { return a.conflicts > b.conflicts; });
    sort_cut(p.by_model_client, [](auto& a, auto& b) { return a.conflicts > b.conflicts; });
    sort_cut(p.top_entities, [](auto& a, auto& b) {
        return std::tie(b.conflicts, b.last_seen_us, a.entity_id, a.model) <
               std::tie(a.conflicts, a.last_seen_us, b.entity_id, b.model);
    });
    sort_cut(p.top_fields, [](auto& a, auto& b) { return a.conflicts > b.conflicts; });
    return p;
}

// Patterns as text, so that a mismatch reads well: "Task:4", "Task/c1:2", "+1h:3", …
std::string rel(Micros t) {
    if (t < B0 - 1'000'000'000'000 || t > B0 + 1'000'000'000'000) return std::to_string(t) + "us";  // far away
    const Micros d = t - B0;
    const std::string sign = d >= 0 ? "+" : "";
    return d % 1'000'000 == 0 ? sign + std::to_string(d / 1'000'000) + "s" : sign + std::to_string(d) + "us";
}
std::vector<std::string> text(const std::vector<ConflictPatterns::ByModel>& v) {
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(x.model + ":" + std::to_string(x.conflicts));
    return out;
}
std::vector<std::string> text(const std::vector<ConflictPatterns::ByClient>& v) {
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(x.client_id + ":" + std::to_string(x.conflicts));
    return out;
}
std::vector<std::string> text(const std::vector<ConflictPatterns::ByModelClient>& v) {
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(x.model + "/" + x.client_id + ":" + std::to_string(x.conflicts));
    return out;
}
std::vector<std::string> text(const std::vector<ConflictPatterns::ByBucket>& v) {
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(rel(x.start_us) + ":" + std::to_string(x.conflicts));
    return out;
}
std::vector<std::string> text(const std::vector<ConflictPatterns::Entity>& v) {
    std::vector<std::string> out;
    for (const auto& x : v)
        out.push_back(x.model + "/" + x.entity_id + ":" + std::to_string(x.conflicts) + "@" + rel(x.last_seen_us));
    return out;
}
std::vector<std::string> text(const std::vector<ConflictPatterns::Field>& v) {
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(x.model + x.field + ":" + std::to_string(x.conflicts));
    return out;
}

void check_same(const ConflictPatterns& a, const ConflictPatterns& b) {
    CHECK(a.from_us == b.from_us);
    CHECK(a.to_us == b.to_us);
    CHECK(a.total == b.total);
    CHECK(text(a.by_bucket) == text(b.by_bucket));
    CHECK(text(a.by_model) == text(b.by_model));
    CHECK(text(a.by_client) == text(b.by_client));
    CHECK(text(a.by_model_client) == text(b.by_model_client));
    CHECK(text(a.top_entities) == text(b.top_entities));
    CHECK(text(a.top_fields) == text(b.top_fields));
}

ConflictPatternQuery pattern_query(Micros from, Micros to, std::string instance = "", std::size_t top_n = 10) {
    ConflictPatternQuery q;
    q.from_us = from;
    q.to_us = to;
    q.instance = std::move(instance);
    q.top_n = top_n;
    return q;
}

}  // namespace

TEMPLATE_TEST_CASE("storage contract: every field round-trips", "[storage][contract]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;

    CapturedRequest full;
    auto& r = full.request;
    r.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3T";
    r.kind = ExchangeKind::push;
    r.client_id = "c-\xC3\xBCn\xC3\xAF\"code\"";
    r.client_version = "1.2.3-beta+build.7";
    r.instance = "eu-west-1/a";
    r.started_at_us = T0 + 123;
    r.duration_us = 4567;
    r.http_status = 207;
    r.outcome = RequestOutcome::conflict;
    r.mutation_count = 3;
    r.applied = 1;
    r.rejected = 1;
    r.conflicts = 1;
    r.snapshots = 4;
    r.models = {"Note", "Task"};
    r.last_sync_cursor = -5;
    r.new_sync_cursor = INT64_MAX;
    r.pull_limit = 500;
    r.has_more = false;  // set-but-false must not come back unset
    r.request_body = "{\"t\":\"caf\xC3\xA9 \xF0\x9F\x98\x80 \\\"q\\\" 'x' \\\\\"}";
    r.request_body += '\0';
    r.request_body += "after-nul \xFF\xFE invalid UTF-8";
    r.response_body = std::string("\0\0\"{[", 5);
    r.request_truncated = true;
    r.response_truncated = false;
    r.request_body_dropped = false;
    r.response_body_dropped = true;
    r.request_body_scrubbed = true;
    r.response_body_scrubbed = false;
    r.request_parse_error = ParseFailure{"syntax error", 42, 3, 7};
    r.response_parse_error = ParseFailure{"incomplete JSON \"x\"", 0, 1, 1};
    r.headers = {{"X-Tether-Client-Version", "1.2.3"},
                 {"Authorization", "[REDACTED]"},
                 {"X-\xC3\x9Cnicode", std::string("a\0b\"\\\xFF", 6)}};
    r.redacted_paths = {"request:/mutations/0/payload/password", "header:authorization"};
    r.notes = {{"request", "/mutations/3/model", "expected a string, found number", false},
               {"response", "", "missing \"applied\"", true}};
    r.replay_of = "01JD3Z6Q8Y9V4K2M1N0P7R5S00";
    r.recorded_at_us = T0 + 9999;

    MutationRecord m;
    m.id = "01JD3Z6Q8Y9V4K2M1N0P7R5M01";
    m.request_id = r.id;
    m.seq = 0;
    m.client_id = r.client_id;
    m.instance = r.instance;
    m.started_at_us = r.started_at_us;
    m.mutation_id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3A";
    m.entity_id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3B";
    m.model = "Task";
    m.operation = "upsert-ish \"verbatim\"";
    m.version = 3;
    m.client_timestamp_ms = 1732500000123;
    m.payload_json = R"({"title":"Buy milk \u00e9","done":false,"n":1.5e3})";
    m.payload_redacted = true;
    m.outcome = MutationOutcome::applied;
    m.reason = "conflict";
    m.rejection_data_json = R"({"messages":{}})";
    m.validation_json = R"({"title":["The title field is required."]})";
    m.conflict = ConflictInfo{"conflict",
                              "note_field_merge",
                              Resolution::merged,
                              R"({"title":"Server","done":true})",
                              "2026-11-24T10:00:00.000000Z",
                              true,
                              false,
                              {{"/title", ChangeOp::changed, "\"Server\"", "\"Buy milk \u00e9\""},
                               {"/done", ChangeOp::changed, "true", "false"},
                               {"/n", ChangeOp::added, "", "15"},
                               {"/a~1b~0c", ChangeOp::removed, "{\"x\":null}", ""}}};
    m.state_before_json = R"({"title":"Old"})";
    m.state_after_json = "null";
    m.payload_diff = {{"/title", ChangeOp::changed, "\"Old\"", "\"Buy milk\""},
                      {"/tags/0", ChangeOp::added, "", "{\"k\":[1,2]}"},
                      {"/a~1b", ChangeOp::removed, "null", ""}};
    m.change_diff = {{"/done", ChangeOp::changed, "true", "false"}};

    MutationRecord bare;  // every optional unset, every string empty
    bare.id = "01JD3Z6Q8Y9V4K2M1N0P7R5M02";
    bare.request_id = r.id;
    bare.seq = 1;
    MutationRecord conflict_no_resolution = bare;
    conflict_no_resolution.id = "01JD3Z6Q8Y9V4K2M1N0P7R5M03";
    conflict_no_resolution.seq = 2;
    conflict_no_resolution.outcome = MutationOutcome::conflict;
    conflict_no_resolution.conflict = ConflictInfo{};
    conflict_no_resolution.conflict->reported_in_response = true;
    full.mutations = {m, bare, conflict_no_resolution};

    CapturedRequest empty;  // a pull with nothing set
    empty.request.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3V";
    empty.request.kind = ExchangeKind::pull;
    empty.request.outcome = RequestOutcome::error;
    empty.request.started_at_us = T0 + 500;

    st.write_batch({full, empty});

    auto got = st.get_request(r.id);
    REQUIRE(got);
    check_same(r, *got);
    auto got_empty = st.get_request(empty.request.id);
    REQUIRE(got_empty);
    check_same(empty.request, *got_empty);

    for (const auto& want : full.mutations) {
        auto gm = st.get_mutation(want.id);
        REQUIRE(gm);
        check_same(want, *gm);
    }
    auto listed = st.list_mutations(r.id, {}, {});
    REQUIRE(listed.items.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) check_same(full.mutations[i], listed.items[i]);

    // The same rows as conflicts: every field from the mutation, the client version from the request.
    auto gc = st.get_conflict(m.id);
    REQUIRE(gc);
    check_same(expected_conflict(m, r), *gc);
    CHECK(gc->client_version == "1.2.3-beta+build.7");
    CHECK(gc->fields.size() == 4);
    CHECK(gc->outcome == MutationOutcome::applied);  // merged: still a conflict
    auto gc_bare = st.get_conflict(conflict_no_resolution.id);
    REQUIRE(gc_bare);
    check_same(expected_conflict(conflict_no_resolution, r), *gc_bare);
    CHECK_FALSE(gc_bare->resolution);
    CHECK(gc_bare->fields.empty());
    CHECK_FALSE(st.get_conflict(bare.id));  // stored, but not conflicted
    auto conflicts = st.list_conflicts({}, {});
    REQUIRE(conflicts.items.size() == 2);
    CHECK(conflicts.next_cursor.empty());
    check_same(expected_conflict(m, r), conflicts.items[0]);
    check_same(expected_conflict(conflict_no_resolution, r), conflicts.items[1]);  // started_at 0: older

    SECTION("list items are summaries: no bodies, headers, notes or redacted paths") {
        auto page = st.list_requests({}, {});
        REQUIRE(page.items.size() == 2);
        CHECK(page.items[0].id == empty.request.id);  // newer
        check_same(r, page.items[1], true);
        check_same(empty.request, page.items[0], true);
    }
}

TEMPLATE_TEST_CASE("storage contract: unknown ids and empty stores", "[storage][contract]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    CHECK_FALSE(st.describe().empty());
    CHECK(st.count_requests() == 0);
    CHECK(st.count_mutations() == 0);
    CHECK(st.list_requests({}, {}).items.empty());
    CHECK(st.list_requests({}, {}).next_cursor.empty());
    st.write_batch({simple_request(1, T0, "c1", 2)});
    st.write_batch({});  // an empty batch is fine
    CHECK_FALSE(st.get_request("nope"));
    CHECK_FALSE(st.get_request(""));
    CHECK_FALSE(st.get_request("R' OR 1=1 --"));
    CHECK_FALSE(st.get_mutation(make_id('R', 1)));  // a request id is not a mutation id
    CHECK_FALSE(st.get_mutation("nope"));
    CHECK_FALSE(st.get_conflict("nope"));
    CHECK_FALSE(st.get_conflict(""));
    CHECK_FALSE(st.get_conflict(make_id('M', 1000)));  // not conflicted
    CHECK(st.list_conflicts({}, {}).items.empty());
    CHECK(st.list_conflicts({}, {}).next_cursor.empty());
    auto empty_patterns = st.conflict_patterns(pattern_query(B0, B0 + 2 * H));
    CHECK(empty_patterns.total == 0);
    CHECK(text(empty_patterns.by_bucket) == std::vector<std::string>{"+0s:0", "+3600s:0"});
    CHECK(empty_patterns.by_model.empty());
    CHECK(empty_patterns.top_entities.empty());
    auto none = st.list_mutations("nope", {}, {});
    CHECK(none.items.empty());
    CHECK(none.next_cursor.empty());
    CHECK(st.count_requests() == 1);
    CHECK(st.count_mutations() == 2);

    // The batch's grouping decides which request a mutation belongs to.
    auto c = simple_request(2, T0 + 1, "c1", 1);
    c.mutations[0].request_id.clear();
    c.request.request_body.assign(3u << 20, 'b');  // several MB: overflow pages, no copies lost
    c.request.request_body[12345] = '\0';
    st.write_batch({c});
    auto m = st.get_mutation(c.mutations[0].id);
    REQUIRE(m);
    CHECK(m->request_id == c.request.id);
    CHECK(st.list_mutations(c.request.id, {}, {}).items.size() == 1);
    auto big = st.get_request(c.request.id);
    REQUIRE(big);
    CHECK(big->request_body == c.request.request_body);
}

TEMPLATE_TEST_CASE("storage contract: newest first, ties broken by id", "[storage][contract]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    st.write_batch({simple_request(5, T0 + 10), simple_request(2, T0 + 20), simple_request(9, T0 + 20)});
    st.write_batch({simple_request(7, T0 + 20), simple_request(1, T0), simple_request(3, T0 + 30)});
    auto ids = ids_of(st.list_requests({}, {}).items);
    CHECK(ids == std::vector<std::string>{make_id('R', 3), make_id('R', 9), make_id('R', 7), make_id('R', 2),
                                          make_id('R', 5), make_id('R', 1)});
    // Tied rows split across pages are neither lost nor repeated.
    for (std::size_t limit : {1, 2, 4}) CHECK(ids_of(walk(st, {}, limit)) == ids);
}

TEMPLATE_TEST_CASE("storage contract: filters alone and combined, across pages", "[storage][contract]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    Dataset data;
    data.write_to(st);
    REQUIRE(st.count_requests() == data.rows.size());

    std::vector<std::pair<std::string, RequestFilter>> cases;
    auto add = [&](std::string name, auto set) {
        RequestFilter f;
        set(f);
        cases.emplace_back(std::move(name), f);
    };
    add("none", [](RequestFilter&) {});
    add("kind=pull", [](RequestFilter& f) { f.kind = ExchangeKind::pull; });
    add("kind=push", [](RequestFilter& f) { f.kind = ExchangeKind::push; });
    add("client", [](RequestFilter& f) { f.client_id = "c3"; });
    add("unknown client", [](RequestFilter& f) { f.client_id = "c-nobody"; });
    add("instance", [](RequestFilter& f) { f.instance = "i1"; });
    add("model Task", [](RequestFilter& f) { f.model = "Task"; });
    add("model Project", [](RequestFilter& f) { f.model = "Project"; });
    add("model only listed", [](RequestFilter& f) { f.model = "OnlyListed"; });
    add("unknown model", [](RequestFilter& f) { f.model = "Nope"; });
    for (int o = 0; o < 4; ++o)
        add(std::string("outcome=") + to_string(RequestOutcome(o)),
            [o](RequestFilter& f) { f.outcome = RequestOutcome(o); });
    add("failed_only", [](RequestFilter& f) { f.failed_only = true; });
    add("failed_only+outcome ok (empty)", [](RequestFilter& f) {
        f.failed_only = true;
        f.outcome = RequestOutcome::ok;
    });
    add("failed_only+outcome error", [](RequestFilter& f) {
        f.failed_only = true;
        f.outcome = RequestOutcome::error;
    });
    // Boundaries sit exactly on row times: from is inclusive, to exclusive.
    add("from", [](RequestFilter& f) { f.from_us = T0 + 10 * 1000; });
    add("to", [](RequestFilter& f) { f.to_us = T0 + 10 * 1000; });
    add("from+to", [](RequestFilter& f) {
        f.from_us = T0 + 5 * 1000;
        f.to_us = T0 + 20 * 1000;
    });
    add("empty range", [](RequestFilter& f) {
        f.from_us = T0 + 5 * 1000;
        f.to_us = T0 + 5 * 1000;
    });
    add("client+kind", [](RequestFilter& f) {
        f.client_id = "c0";
        f.kind = ExchangeKind::pull;
    });
    add("model+failed_only", [](RequestFilter& f) {
        f.model = "Note";
        f.failed_only = true;
    });
    add("model+range", [](RequestFilter& f) {
        f.model = "Task";
        f.from_us = T0 + 3 * 1000;
        f.to_us = T0 + 21 * 1000;
    });
    add("everything", [](RequestFilter& f) {
        f.kind = ExchangeKind::push;
        f.client_id = "c1";
        f.instance = "i1";
        f.model = "Project";
        f.from_us = T0;
        f.to_us = T0 + 100 * 1000;
    });
    add("client+outcome+instance", [](RequestFilter& f) {
        f.client_id = "c2";
        f.outcome = RequestOutcome::conflict;
        f.instance = "i0";
    });

    for (const auto& [name, filter] : cases) {
        auto want = data.expected(filter);
        for (std::size_t limit : {1, 3, 500}) {
            INFO("filter " << name << ", limit " << limit);
            CHECK(ids_of(walk(st, filter, limit)) == want);
        }
    }
    // Sanity of the dataset itself: the interesting filters are not trivially empty.
    CHECK(data.expected(cases[8].second).size() > 0);
    CHECK(data.expected(cases[1].second).size() < data.rows.size());
}

TEMPLATE_TEST_CASE("storage contract: keyset pages see each row once while rows are added", "[storage][contract]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    Dataset data(45);
    data.write_to(st);
    long next = 10'000;
    Micros newest = T0 + 1'000'000'000;
    for (std::size_t limit : {1, 2, 7, 500}) {
        for (auto filter : {RequestFilter{}, [] {
                                RequestFilter f;
                                f.model = "Task";
                                return f;
                            }()}) {
            auto want = data.expected(filter);
            // Between pages, new rows arrive that are newer than anything: they belong to a
            // later walk, never to this one.
            std::vector<CapturedRequest> added;
            auto got = walk(st, filter, limit, [&] {
                std::vector<CapturedRequest> batch{simple_request(next, newest, "c9", 1),
                                                   simple_request(next + 1, newest + 1, "c9", 1)};
                next += 2;
                newest += 2;
                st.write_batch(batch);
                added.insert(added.end(), batch.begin(), batch.end());
            });
            data.rows.insert(data.rows.end(), added.begin(), added.end());
            INFO("limit " << limit << ", model " << filter.model);
            CHECK(ids_of(got) == want);
            auto ids = ids_of(got);
            CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
        }
    }
}

TEMPLATE_TEST_CASE("storage contract: bad cursors and limits are InvalidArgument", "[storage][contract]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    st.write_batch({simple_request(1, T0, "c1", 3), simple_request(2, T0 + 1)});

    std::vector<std::string> bad = {
        "not a cursor!",
        "djE6MTox=",           // padding is not produced by encode_cursor
        b64url("v2:1:abc"),    // unknown version
        b64url("v1:abc:def"),  // not an integer
        b64url("v1:+5:abc"),   // non-canonical integer
        b64url("v1:05:abc"),
        b64url("v1:-0:abc"),
        b64url("v1:99999999999999999999:abc"),  // overflow
        b64url("v1:5"),                         // no id
        b64url("v1:5:"),                        // empty id
        b64url("v1:5:a.b"),                     // id charset
        b64url("v1:5:a b"),
        b64url("v1:5:" + std::string(65, 'a')),  // id too long
        b64url(std::string("v1:5:a\0b", 8)),
        b64url("v1:5:abc") + "A",   // trailing garbage
        b64url("v1:5:abc") + "AA",  // impossible length
        std::string(500, 'A'),
    };
    auto good = encode_cursor({T0, make_id('R', 2)});
    CHECK(decode_cursor(good).id == make_id('R', 2));
    for (const auto& c : bad) {
        INFO("cursor " << c);
        PageRequest p;
        p.cursor = c;
        require_invalid_argument([&] { st.list_requests({}, p); }, "cursor");
        require_invalid_argument([&] { st.list_mutations(make_id('R', 1), {}, p); }, "cursor");
        require_invalid_argument([&] { st.list_conflicts({}, p); }, "cursor");
        require_invalid_argument([&] { decode_cursor(c); }, "cursor");
        try {
            decode_cursor(c);
        } catch (const InvalidArgument& e) {
            CHECK(std::string(e.what()).find("expected a next_cursor value returned by a previous page") !=
                  std::string::npos);
        }
    }
    require_invalid_argument([] { decode_cursor(""); }, "cursor");

    for (std::size_t limit : {std::size_t(0), std::size_t(501), std::size_t(-1)}) {
        INFO("limit " << limit);
        PageRequest p;
        p.limit = limit;
        require_invalid_argument([&] { st.list_requests({}, p); }, "limit");
        require_invalid_argument([&] { st.list_mutations(make_id('R', 1), {}, p); }, "limit");
        require_invalid_argument([&] { st.list_conflicts({}, p); }, "limit");
        require_invalid_argument([&] { validate_page(p); }, "limit");
    }
    PageRequest edge;
    edge.limit = 500;
    CHECK_NOTHROW(st.list_requests({}, edge));
    edge.limit = 1;
    CHECK(st.list_requests({}, edge).items.size() == 1);

    // Round trip of the cursor format itself.
    for (const CursorKey& k : {CursorKey{0, "a"}, CursorKey{-1, "Z_-9"}, CursorKey{INT64_MIN, std::string(64, 'x')},
                               CursorKey{INT64_MAX, "01JD3Z6Q8Y9V4K2M1N0P7R5S3T"}}) {
        auto text = encode_cursor(k);
        CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              std::string::npos);
        auto back = decode_cursor(text);
        CHECK(back.primary == k.primary);
        CHECK(back.id == k.id);
    }
}

TEMPLATE_TEST_CASE("storage contract: mutations page in seq order and filter", "[storage][contract]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    auto c = simple_request(1, T0, "c1", 0);
    const char* models[] = {"Task", "Note"};
    for (int i = 12; i >= 0; --i) {  // stored out of order
        MutationRecord m;
        m.id = make_id('M', 100 - i);  // ids descend while seq ascends: order must follow seq
        m.request_id = c.request.id;
        m.seq = static_cast<std::uint32_t>(i);
        m.model = models[i % 2];
        m.outcome = static_cast<MutationOutcome>(i % 4);
        if (i % 3 == 0)
            m.conflict = ConflictInfo{"conflict", "lww", Resolution::server_wins, "{}", "", true, true, {}};
        c.mutations.push_back(m);
    }
    st.write_batch({c, simple_request(2, T0 + 1, "c1", 4)});  // another request's mutations stay out

    auto expect = [&](const std::function<bool(const MutationRecord&)>& keep) {
        std::vector<std::uint32_t> seqs;
        for (std::uint32_t i = 0; i <= 12; ++i)
            for (const auto& m : c.mutations)
                if (m.seq == i && keep(m)) seqs.push_back(i);
        return seqs;
    };
    auto seqs = [](const std::vector<MutationRecord>& v) {
        std::vector<std::uint32_t> out;
        for (const auto& m : v) out.push_back(m.seq);
        return out;
    };
    std::vector<std::pair<MutationFilter, std::function<bool(const MutationRecord&)>>> cases;
    cases.push_back({{}, [](auto&) { return true; }});
    MutationFilter f;
    f.outcome = MutationOutcome::rejected;
    cases.push_back({f, [](auto& m) { return m.outcome == MutationOutcome::rejected; }});
    f = {};
    f.conflicted_only = true;  // whatever the outcome
    cases.push_back({f, [](auto& m) { return m.conflict.has_value(); }});
    f = {};
    f.model = "Note";
    cases.push_back({f, [](auto& m) { return m.model == "Note"; }});
    f.conflicted_only = true;
    f.outcome = MutationOutcome::unknown;
    cases.push_back(
        {f, [](auto& m) { return m.model == "Note" && m.conflict && m.outcome == MutationOutcome::unknown; }});
    for (std::size_t i = 0; i < cases.size(); ++i)
        for (std::size_t limit : {1, 2, 5, 500}) {
            INFO("case " << i << ", limit " << limit);
            auto got = walk_mutations(st, c.request.id, cases[i].first, limit);
            CHECK(seqs(got) == expect(cases[i].second));
            for (const auto& m : got) CHECK(m.request_id == c.request.id);
        }
    CHECK(expect(cases[2].second).size() == 5);
    CHECK(st.count_mutations() == 17);
}

TEMPLATE_TEST_CASE("storage contract: prune by age and by count, oldest first", "[storage][contract]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    for (long i = 0; i < 10; ++i) st.write_batch({simple_request(i, T0 + i * 1000, "c1", 2, i % 2 ? "Task" : "Note")});
    REQUIRE(st.count_requests() == 10);
    REQUIRE(st.count_mutations() == 20);
    auto remaining = [&] {
        auto ids = ids_of(walk(st, {}, 500));
        std::reverse(ids.begin(), ids.end());
        return ids;
    };
    auto ids_from = [](long first, long last) {
        std::vector<std::string> out;
        for (long i = first; i <= last; ++i) out.push_back(make_id('R', i));
        return out;
    };

    SECTION("nothing to do") {
        CHECK(st.prune({}, T0 + 1'000'000, 100) == 0);
        RetentionPolicy keep_all;
        keep_all.max_requests = 10;
        keep_all.max_age_us = 1'000'000'000;
        CHECK(st.prune(keep_all, T0 + 10'000, 100) == 0);
        RetentionPolicy forever;  // now - max_age below the int64 range: keeps everything, no overflow
        forever.max_age_us = INT64_MAX;
        CHECK(st.prune(forever, -1'000'000, 100) == 0);
        RetentionPolicy p;
        p.max_requests = 1;
        CHECK(st.prune(p, T0, 0) == 0);  // a zero budget deletes nothing
        CHECK(st.count_requests() == 10);
    }
    SECTION("by age: strictly older than now - max_age, in small steps") {
        RetentionPolicy p;
        p.max_age_us = 3000;
        const Micros now = T0 + 10'000;  // cutoff T0+7000: rows 0..6 go, row 7 (exactly at cutoff) stays
        CHECK(st.prune(p, now, 3) == 3);
        CHECK(remaining() == ids_from(3, 9));
        CHECK(st.prune(p, now, 3) == 3);
        CHECK(st.prune(p, now, 3) == 1);
        CHECK(st.prune(p, now, 3) == 0);
        CHECK(remaining() == ids_from(7, 9));
        CHECK(st.count_requests() == 3);
        CHECK(st.count_mutations() == 6);
        CHECK_FALSE(st.get_mutation(make_id('M', 0)));
        CHECK_FALSE(st.get_request(make_id('R', 6)));
        CHECK(st.get_mutation(make_id('M', 7000)));
        CHECK(st.list_mutations(make_id('R', 2), {}, {}).items.empty());
        RequestFilter note;
        note.model = "Note";  // rows 0,2,4,6 gone, 8 left
        CHECK(ids_of(walk(st, note, 2)) == std::vector<std::string>{make_id('R', 8)});
    }
    SECTION("by count: newest kept") {
        RetentionPolicy p;
        p.max_requests = 4;
        CHECK(st.prune(p, T0, 100) == 6);
        CHECK(st.prune(p, T0, 100) == 0);
        CHECK(remaining() == ids_from(6, 9));
        CHECK(st.count_mutations() == 8);
        RequestFilter task;
        task.model = "Task";
        CHECK(ids_of(walk(st, task, 1)) == std::vector<std::string>{make_id('R', 9), make_id('R', 7)});
    }
    SECTION("both limits apply: the stricter one wins") {
        RetentionPolicy p;
        p.max_requests = 8;
        p.max_age_us = 5500;
        CHECK(st.prune(p, T0 + 10'000, 100) == 5);  // age removes 0..4; count alone would remove 2
        p.max_requests = 2;
        CHECK(st.prune(p, T0 + 10'000, 2) == 2);
        CHECK(st.prune(p, T0 + 10'000, 2) == 1);
        CHECK(st.prune(p, T0 + 10'000, 2) == 0);
        CHECK(remaining() == ids_from(8, 9));
    }
    SECTION("pruned rows leave storage usable and ids reusable") {
        RetentionPolicy p;
        p.max_requests = 1;
        CHECK(st.prune(p, T0, 1000) == 9);
        st.write_batch({simple_request(0, T0 + 50'000, "c1", 2)});
        CHECK(st.count_requests() == 2);
        CHECK(st.count_mutations() == 4);
        CHECK(st.get_mutation(make_id('M', 1)));
    }
}

TEMPLATE_TEST_CASE("storage contract: write_batch is all or nothing", "[storage][contract]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    st.write_batch({simple_request(1, T0, "c1", 2)});
    const std::string secret = "S3cr3t-value-9f2b";
    auto with_secret = [&](CapturedRequest c) {
        c.request.request_body = "{\"password\":\"" + secret + "\"}";
        c.request.client_id = secret;
        return c;
    };
    auto expect_failure = [&](const std::vector<CapturedRequest>& batch) {
        try {
            st.write_batch(batch);
            FAIL("write_batch accepted a bad batch");
        } catch (const StorageError& e) {
            CHECK_FALSE(e.transient());  // retrying cannot help
            CHECK(std::string(e.what()).find(secret) == std::string::npos);
        }
        CHECK(st.count_requests() == 1);
        CHECK(st.count_mutations() == 2);
        CHECK_FALSE(st.get_request(make_id('R', 2)));
        CHECK_FALSE(st.get_mutation(make_id('M', 2000)));
        CHECK(ids_of(walk(st, {}, 10)) == std::vector<std::string>{make_id('R', 1)});
    };
    SECTION("duplicate of a stored request") {
        expect_failure({with_secret(simple_request(2, T0 + 5, "c2", 2)), with_secret(simple_request(1, T0 + 6))});
    }
    SECTION("duplicate within the batch") {
        expect_failure({with_secret(simple_request(2, T0 + 5, "c2", 2)), with_secret(simple_request(2, T0 + 6))});
    }
    SECTION("duplicate mutation id") {
        auto a = with_secret(simple_request(2, T0 + 5, "c2", 2));
        auto b = simple_request(3, T0 + 6, "c2", 1);
        b.mutations[0].id = make_id('M', 1000);  // belongs to request 1
        expect_failure({a, b});
    }
    SECTION("ids that cannot be paged") {
        auto a = with_secret(simple_request(2, T0 + 5, "c2", 2));
        auto b = simple_request(3, T0 + 6);
        b.request.id = "has space";
        expect_failure({a, b});
        b.request.id = "";
        expect_failure({a, b});
        b.request.id = std::string(65, 'a');
        expect_failure({a, b});
        auto d = simple_request(4, T0 + 7, "c2", 1);
        d.mutations[0].id = "bad/id";
        expect_failure({a, d});
    }
    // Still writable afterwards.
    st.write_batch({simple_request(2, T0 + 5, "c2", 2)});
    CHECK(st.count_requests() == 2);
    CHECK(st.count_mutations() == 4);
}

TEMPLATE_TEST_CASE("storage contract: readers page while a writer writes", "[storage][contract]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    std::atomic<bool> done{false};
    std::string writer_error, reader_error;
    std::thread writer([&] {
        try {
            for (long b = 0; b < 120; ++b) {
                std::vector<CapturedRequest> batch;
                for (long k = 0; k < 4; ++k) batch.push_back(simple_request(b * 4 + k, T0 + b * 10 + k, "c1", 2));
                st.write_batch(batch);
            }
        } catch (const std::exception& e) {
            writer_error = e.what();
        }
        done = true;
    });
    JoinOnExit join{done, writer};
    int walks = 0;
    try {
        while (!done || walks < 2) {
            auto before = st.count_requests();
            auto rows = walk(st, {}, 7);
            auto after = st.count_requests();
            ++walks;
            // Everything present when the walk began is seen once; the order never goes backwards.
            REQUIRE(rows.size() >= before);
            REQUIRE(rows.size() <= after);
            for (std::size_t i = 1; i < rows.size(); ++i)
                REQUIRE(std::tie(rows[i - 1].started_at_us, rows[i - 1].id) >
                        std::tie(rows[i].started_at_us, rows[i].id));
            if (!rows.empty()) {
                // A listed request is complete: its mutations were committed with it.
                auto muts = st.list_mutations(rows.front().id, {}, {});
                REQUIRE(muts.items.size() == 2);
                REQUIRE(st.get_request(rows.back().id));
            }
        }
    } catch (const std::exception& e) {
        reader_error = e.what();
    }
    writer.join();
    CHECK(writer_error.empty());
    CHECK(reader_error.empty());
    CHECK(walks >= 2);
    CHECK(st.count_requests() == 480);
    CHECK(st.count_mutations() == 960);
}

TEMPLATE_TEST_CASE("storage contract: rollups are kept per width, bucket and instance", "[storage][contract][rollups]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    CHECK(st.read_rollups(W, B0, B0 + H, "").empty());

    const std::string odd = "eu-west/\xC3\xBC";
    // Stored out of order, across two batches, one of them without requests.
    st.write_batch(
        {simple_request(1, B0), simple_request(2, B0 + W)},
        rollups_of({make_rollup(W, B0 + W, "i0", 3), make_rollup(W, B0, "i1", 2), make_rollup(H, B0, "i0", 4)}));
    st.write_batch({}, rollups_of({make_rollup(W, B0 + 2 * W, odd, 5), make_rollup(W, B0, "i0", 1),
                                   make_rollup(W, B0 + 12 * W, "i0", 6)}));
    CHECK(st.count_requests() == 2);

    auto all = st.read_rollups(W, B0, B0 + H, "");
    REQUIRE(keys_of(all) ==
            std::vector<RollupKey>{
                {W, B0, "i0"}, {W, B0, "i1"}, {W, B0 + W, "i0"}, {W, B0 + 2 * W, odd}});  // B0 + 12W = B0 + H: outside
    // Every field round-trips.
    check_same(all[0], make_rollup(W, B0, "i0", 1));
    check_same(all[1], make_rollup(W, B0, "i1", 2));
    check_same(all[2], make_rollup(W, B0 + W, "i0", 3));
    check_same(all[3], make_rollup(W, B0 + 2 * W, odd, 5));

    SECTION("[from, to) on the bucket start") {
        CHECK(keys_of(st.read_rollups(W, B0 + W, B0 + 2 * W, "")) == std::vector<RollupKey>{{W, B0 + W, "i0"}});
        CHECK(keys_of(st.read_rollups(W, B0 + 1, B0 + W + 1, "")) == std::vector<RollupKey>{{W, B0 + W, "i0"}});
        CHECK(keys_of(st.read_rollups(W, B0 + 2 * W, B0 + H + 1, "")) ==
              std::vector<RollupKey>{{W, B0 + 2 * W, odd}, {W, B0 + H, "i0"}});
        CHECK(st.read_rollups(W, B0, B0, "").empty());
        CHECK(st.read_rollups(W, B0 + W, B0, "").empty());
        CHECK(st.read_rollups(W, B0 - H, B0, "").empty());
        CHECK(st.read_rollups(W, INT64_MIN, INT64_MAX, "").size() == 5);
    }
    SECTION("instance filter") {
        CHECK(keys_of(st.read_rollups(W, B0, B0 + H, "i0")) ==
              std::vector<RollupKey>{{W, B0, "i0"}, {W, B0 + W, "i0"}});
        CHECK(keys_of(st.read_rollups(W, B0, B0 + H, "i1")) == std::vector<RollupKey>{{W, B0, "i1"}});
        CHECK(keys_of(st.read_rollups(W, B0, B0 + H, odd)) == std::vector<RollupKey>{{W, B0 + 2 * W, odd}});
        CHECK(st.read_rollups(W, B0, B0 + H, "i9").empty());
        CHECK(st.read_rollups(W, B0, B0 + H, "i").empty());  // no prefix matching
    }
    SECTION("widths are separate series") {
        auto hours = st.read_rollups(H, B0 - H, B0 + 2 * H, "");
        REQUIRE(hours.size() == 1);
        check_same(hours[0], make_rollup(H, B0, "i0", 4));
        CHECK(st.read_rollups(2 * W, INT64_MIN, INT64_MAX, "").empty());
        CHECK(st.read_rollups(0, INT64_MIN, INT64_MAX, "").empty());
        CHECK(st.read_rollups(-W, INT64_MIN, INT64_MAX, "").empty());
    }
    SECTION("requests are untouched by rollups") {
        CHECK(ids_of(walk(st, {}, 10)) == std::vector<std::string>{make_id('R', 2), make_id('R', 1)});
    }
}

TEMPLATE_TEST_CASE("storage contract: rollups of one bucket add up across and within batches",
                   "[storage][contract][rollups]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    auto make = [](std::uint64_t requests, std::uint64_t max_us, std::vector<double> latencies) {
        Rollup r;
        r.width_us = W;
        r.start_us = B0 + W;
        r.instance = "i0";
        r.requests = requests;
        r.pushes = requests;
        r.mutations = 2 * requests;
        r.failed_requests = 1;
        r.duration_sum_us = 1000 * requests;
        r.duration_max_us = max_us;
        for (double v : latencies) r.latency.add(v);
        return r;
    };
    auto a = make(3, 500, {100, 100, 500});
    a.models["Task"] = {5, 1, 1};
    a.clients["c1"] = {2, 3, 1};
    a.clients["c2"] = {1, 2, 0};
    auto b = make(2, 300, {100, 20000});
    b.models["Task"] = {1, 0, 0};
    b.models["Note"] = {2, 1, 0};
    b.clients["c2"] = {2, 0, 1};
    b.clients["c3"] = {5, 5, 5};
    auto c = make(1, 9000, {0.5});
    c.pulls = 4;
    c.snapshots = 7;
    c.models["Note"] = {0, 0, 2};
    c.clients["c1"] = {1, 1, 1};
    auto d = make(4, 10, {});  // empty histogram
    auto other_instance = make(100, 1, {1});
    other_instance.instance = "i1";

    st.write_batch({simple_request(1, B0 + W)}, rollups_of({a}));
    st.write_batch({simple_request(2, B0 + W + 1)}, rollups_of({b, other_instance}));
    st.write_batch({}, rollups_of({c, d}));  // the same bucket twice in one batch

    auto got = st.read_rollups(W, B0, B0 + H, "i0");
    REQUIRE(got.size() == 1);
    const Rollup& r = got[0];
    CHECK(r.start_us == B0 + W);
    CHECK(r.requests == 10);
    CHECK(r.pushes == 10);
    CHECK(r.pulls == 4);
    CHECK(r.mutations == 20);
    CHECK(r.snapshots == 7);
    CHECK(r.failed_requests == 4);
    CHECK(r.duration_sum_us == 10'000);
    CHECK(r.duration_max_us == 9000);  // the max, not a sum
    CHECK(r.applied == 0);
    // Histograms merge exactly: bin by bin.
    std::map<std::int32_t, std::uint64_t> bins;
    for (double v : {100.0, 100.0, 500.0, 100.0, 20000.0, 0.5}) ++bins[LatencyHistogram::bin_of(v)];
    const auto got_bins = r.latency.bins();
    CHECK(std::map<std::int32_t, std::uint64_t>(got_bins.begin(), got_bins.end()) == bins);
    CHECK(r.latency.count() == 6);
    CHECK(r.models == std::map<std::string, ModelCounts>{{"Note", {2, 1, 2}}, {"Task", {6, 1, 1}}});
    CHECK(r.clients == std::map<std::string, ClientCounts>{{"c1", {3, 4, 2}}, {"c2", {3, 2, 1}}, {"c3", {5, 5, 5}}});

    // Merging is Rollup::merge, item by item in batch order.
    Rollup want;
    want.width_us = W;
    want.start_us = B0 + W;
    want.instance = "i0";
    for (const Rollup* x : {&a, &b, &c, &d}) want.merge(*x);
    check_same(r, want);

    auto others = st.read_rollups(W, B0, B0 + H, "i1");
    REQUIRE(others.size() == 1);
    check_same(others[0], other_instance);
    CHECK(st.read_rollups(W, B0, B0 + H, "").size() == 2);
}

TEMPLATE_TEST_CASE("storage contract: clients beyond the per-bucket cap fold into (other)",
                   "[storage][contract][rollups]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    const std::string other(other_clients_key);
    auto with_clients = [](Micros start, std::string instance, std::vector<std::string> ids, std::uint64_t n) {
        Rollup r;
        r.width_us = W;
        r.start_us = start;
        r.instance = std::move(instance);
        for (const auto& id : ids) {
            r.clients[id] = {n, 2 * n, 1};
            r.requests += n;
        }
        return r;
    };
    auto read_one = [&](Micros start, const std::string& instance) {
        auto v = st.read_rollups(W, start, start + 1, instance);
        REQUIRE(v.size() == 1);
        return v[0];
    };

    SECTION("across batches") {
        st.write_batch({}, rollups_of({with_clients(B0, "i0", {"a", "b"}, 1)}, 3));
        st.write_batch({}, rollups_of({with_clients(B0, "i0", {"c", "d", "e"}, 10)}, 3));
        auto r = read_one(B0, "i0");
        CHECK(r.clients == std::map<std::string, ClientCounts>{
                               {"a", {1, 2, 1}}, {"b", {1, 2, 1}}, {"c", {10, 20, 1}}, {other, {20, 40, 2}}});
        // Known clients keep counting, new ones go to (other), and an item's own (other) adds to it.
        auto more = with_clients(B0, "i0", {"a", "f", other}, 100);
        st.write_batch({}, rollups_of({more}, 3));
        r = read_one(B0, "i0");
        CHECK(r.clients == std::map<std::string, ClientCounts>{
                               {"a", {101, 202, 2}}, {"b", {1, 2, 1}}, {"c", {10, 20, 1}}, {other, {220, 440, 4}}});
        CHECK(client_total(r) == r.requests);  // nothing lost by folding
        // The cap is per bucket and instance.
        st.write_batch(
            {}, rollups_of({with_clients(B0, "i1", {"x", "y", "z"}, 1), with_clients(B0 + W, "i0", {"p", "q", "r"}, 1)},
                           3));
        CHECK(read_one(B0, "i1").clients.size() == 3);
        CHECK(read_one(B0 + W, "i0").clients.size() == 3);
        CHECK_FALSE(read_one(B0 + W, "i0").clients.count(other));
    }
    SECTION("within one batch and one item") {
        // The first write of a bucket is capped too (in the item's client order).
        st.write_batch({}, rollups_of({with_clients(B0, "i0", {"k1", "k2", "k3", "k4", "k5"}, 1),
                                       with_clients(B0, "i0", {"k2", "k6"}, 1)},
                                      2));
        auto r = read_one(B0, "i0");
        CHECK(r.clients ==
              std::map<std::string, ClientCounts>{{"k1", {1, 2, 1}}, {"k2", {2, 4, 2}}, {other, {4, 8, 4}}});
        CHECK(client_total(r) == r.requests);
    }
    SECTION("a cap of zero counts every client under (other)") {
        st.write_batch({}, rollups_of({with_clients(B0, "i0", {"a", "b"}, 1)}, 0));
        CHECK(read_one(B0, "i0").clients == std::map<std::string, ClientCounts>{{other, {2, 4, 2}}});
    }
}

TEMPLATE_TEST_CASE("storage contract: rollups commit with their batch or not at all", "[storage][contract][rollups]",
                   TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    st.write_batch({simple_request(1, B0, "c1", 2)}, rollups_of({make_rollup(W, B0, "i0", 1)}));
    auto unchanged = [&] {
        CHECK(st.count_requests() == 1);
        CHECK(st.count_mutations() == 2);
        auto all = st.read_rollups(W, INT64_MIN, INT64_MAX, "");
        REQUIRE(all.size() == 1);
        check_same(all[0], make_rollup(W, B0, "i0", 1));
        CHECK(st.read_rollups(H, INT64_MIN, INT64_MAX, "").empty());
    };
    auto expect_failure = [&](const std::vector<CapturedRequest>& batch, const RollupBatch& rollups) {
        try {
            st.write_batch(batch, rollups);
            FAIL("write_batch accepted a bad batch");
        } catch (const StorageError& e) {
            CHECK_FALSE(e.transient());
        }
        unchanged();
    };
    // Rollups of an existing bucket, a new bucket and a new width: none may be applied.
    const auto good =
        rollups_of({make_rollup(W, B0, "i0", 7), make_rollup(W, B0 + W, "i0", 8), make_rollup(H, B0, "i0", 9)});
    SECTION("duplicate request id") { expect_failure({simple_request(2, B0 + 5), simple_request(1, B0 + 6)}, good); }
    SECTION("duplicate mutation id") {
        auto b = simple_request(3, B0 + 6, "c2", 1);
        b.mutations[0].id = make_id('M', 1000);
        expect_failure({simple_request(2, B0 + 5), b}, good);
    }
    SECTION("a bad rollup fails the requests too") {
        auto bad = good;
        bad.items.push_back(make_rollup(0, B0, "i0", 1));
        expect_failure({simple_request(2, B0 + 5)}, bad);
        bad.items.back() = make_rollup(-W, B0, "i0", 1);
        expect_failure({simple_request(2, B0 + 5)}, bad);
        bad.items.back() = make_rollup(W, B0 + 1, "i0", 1);  // not on a bucket boundary
        expect_failure({simple_request(2, B0 + 5)}, bad);
        bad.items.back() = make_rollup(W, INT64_MAX - INT64_MAX % W, "i0", 1);  // the bucket's end overflows
        expect_failure({simple_request(2, B0 + 5)}, bad);
        expect_failure({}, bad);
    }
    // Still writable afterwards, with everything applied once.
    st.write_batch({simple_request(2, B0 + 5)}, good);
    CHECK(st.count_requests() == 2);
    auto all = st.read_rollups(W, INT64_MIN, INT64_MAX, "");
    REQUIRE(all.size() == 2);
    auto want = make_rollup(W, B0, "i0", 1);
    want.merge(make_rollup(W, B0, "i0", 7));
    check_same(all[0], want);
    check_same(all[1], make_rollup(W, B0 + W, "i0", 8));
    // Aligned negative starts are fine (clocks before 1970 are odd, not invalid).
    st.write_batch({}, rollups_of({make_rollup(W, -3 * W, "i0", 1)}));
    CHECK(st.read_rollups(W, INT64_MIN, 0, "").size() == 1);
}

TEMPLATE_TEST_CASE("storage contract: prune_rollups deletes buckets that ended, by their end",
                   "[storage][contract][rollups]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    st.write_batch({}, rollups_of({make_rollup(W, B0, "i0", 1), make_rollup(W, B0 + W, "i0", 2),
                                   make_rollup(W, B0 + W, "i1", 3), make_rollup(W, B0 + 2 * W, "i0", 4),
                                   make_rollup(H, B0, "i0", 5), make_rollup(H, B0 + H, "i0", 6)}));
    auto remaining = [&] {
        auto v = st.read_rollups(W, INT64_MIN, INT64_MAX, "");
        auto h = st.read_rollups(H, INT64_MIN, INT64_MAX, "");
        v.insert(v.end(), h.begin(), h.end());
        return keys_of(v);
    };
    CHECK(st.prune_rollups(INT64_MIN) == 0);  // no overflow at the extremes
    CHECK(st.prune_rollups(B0) == 0);
    CHECK(st.prune_rollups(B0 + W - 1) == 0);  // B0's five minutes are not over yet
    CHECK(st.prune_rollups(B0 + W) == 1);      // ... now they are: end <= before
    CHECK(st.prune_rollups(B0 + 2 * W + W / 2) == 2);
    CHECK(st.prune_rollups(B0 + 2 * W + W / 2) == 0);
    CHECK(remaining() == std::vector<RollupKey>{{W, B0 + 2 * W, "i0"}, {H, B0, "i0"}, {H, B0 + H, "i0"}});
    CHECK(st.prune_rollups(B0 + H) == 2);  // the hour [B0, B0+H) ended too
    CHECK(remaining() == std::vector<RollupKey>{{H, B0 + H, "i0"}});
    auto last = st.read_rollups(H, B0 + H, B0 + 2 * H, "");
    REQUIRE(last.size() == 1);
    check_same(last[0], make_rollup(H, B0 + H, "i0", 6));
    CHECK(st.prune_rollups(INT64_MAX) == 1);
    CHECK(remaining().empty());
    CHECK(st.prune_rollups(INT64_MAX) == 0);
    // A pruned bucket starts afresh when written again.
    st.write_batch({}, rollups_of({make_rollup(W, B0, "i0", 2)}));
    auto again = st.read_rollups(W, B0, B0 + W, "");
    REQUIRE(again.size() == 1);
    check_same(again[0], make_rollup(W, B0, "i0", 2));
}

TEMPLATE_TEST_CASE("storage contract: request retention and rollup retention are independent",
                   "[storage][contract][rollups]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    for (long i = 0; i < 6; ++i)
        st.write_batch({simple_request(i, B0 + i * W, "c1", 1)}, rollups_of({make_rollup(W, B0 + i * W, "i0", 1)}));
    RetentionPolicy p;
    p.max_age_us = 1;
    CHECK(st.prune(p, B0 + H, 100) == 6);
    CHECK(st.count_requests() == 0);
    auto all = st.read_rollups(W, B0, B0 + H, "");
    REQUIRE(all.size() == 6);
    for (long i = 0; i < 6; ++i) check_same(all[i], make_rollup(W, B0 + i * W, "i0", 1));

    st.write_batch({simple_request(10, B0, "c1", 1)});
    CHECK(st.prune_rollups(INT64_MAX) == 6);
    CHECK(st.count_requests() == 1);
    CHECK(st.count_mutations() == 1);
    CHECK(st.get_request(make_id('R', 10)));
}

TEMPLATE_TEST_CASE("storage contract: readers see rollups and requests of the same batches",
                   "[storage][contract][rollups]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    std::atomic<bool> done{false};
    std::string writer_error;
    std::thread writer([&] {
        try {
            for (long b = 0; b < 60; ++b) {
                std::vector<CapturedRequest> batch;
                Rollup r;
                r.width_us = W;
                r.start_us = B0 + (b % 4) * W;
                r.instance = b % 2 ? "i1" : "i0";
                for (long k = 0; k < 3; ++k) {
                    batch.push_back(simple_request(b * 3 + k, B0 + b * 10 + k));
                    ++r.requests;
                }
                st.write_batch(batch, rollups_of({r}));
            }
        } catch (const std::exception& e) {
            writer_error = e.what();
        }
        done = true;
    });
    JoinOnExit join{done, writer};
    int reads = 0;
    while (!done || reads < 2) {
        // Requests and their rollups commit together: the rollup total lies between the
        // request counts seen before and after reading it.
        auto before = st.count_requests();
        std::uint64_t total = 0;
        for (const auto& r : st.read_rollups(W, B0, B0 + H, "")) total += r.requests;
        auto after = st.count_requests();
        REQUIRE(before <= total);
        REQUIRE(total <= after);
        ++reads;
    }
    writer.join();
    CHECK(writer_error.empty());
    std::uint64_t total = 0;
    for (const auto& r : st.read_rollups(W, B0, B0 + H, "")) total += r.requests;
    CHECK(total == 180);
    CHECK(st.read_rollups(W, B0, B0 + H, "").size() == 4);
}

TEMPLATE_TEST_CASE("storage contract: conflicts list newest first, filters alone and combined, across pages",
                   "[storage][contract][conflicts]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    ConflictDataset data;
    data.write_to(st);

    // Conflicts are listed whatever they ended in: applied (client wins, merged) included.
    const auto everything = data.expected({});
    REQUIRE(everything.size() > 50);
    std::set<MutationOutcome> outcomes;
    for (const auto& c : everything) outcomes.insert(c.outcome);
    CHECK(outcomes == std::set<MutationOutcome>{MutationOutcome::applied, MutationOutcome::rejected,
                                                MutationOutcome::conflict});

    std::vector<std::pair<std::string, ConflictFilter>> cases;
    auto add = [&](std::string name, auto set) {
        ConflictFilter f;
        set(f);
        cases.emplace_back(std::move(name), f);
    };
    add("none", [](ConflictFilter&) {});
    add("model", [](ConflictFilter& f) { f.model = "Project"; });
    add("client", [](ConflictFilter& f) { f.client_id = "c2"; });
    add("entity", [](ConflictFilter& f) { f.entity_id = "e3"; });
    add("resolver", [](ConflictFilter& f) { f.resolver = "note_merge"; });
    add("instance", [](ConflictFilter& f) { f.instance = "i1"; });
    for (int r = 0; r < 4; ++r)
        add(std::string("resolution=") + to_string(Resolution(r)), [r](ConflictFilter& f) { f.resolution = Resolution(r); });
    add("from", [](ConflictFilter& f) { f.from_us = B0 + 5 * 17 * 60 * 1'000'000LL; });  // on a row time: inclusive
    add("to", [](ConflictFilter& f) { f.to_us = B0 + 5 * 17 * 60 * 1'000'000LL; });      // exclusive
    add("from+to", [](ConflictFilter& f) {
        f.from_us = B0 + H;
        f.to_us = B0 + 3 * H;
    });
    add("empty range", [](ConflictFilter& f) {
        f.from_us = B0 + H;
        f.to_us = B0 + H;
    });
    add("unknown model", [](ConflictFilter& f) { f.model = "Nope"; });
    add("unknown resolver", [](ConflictFilter& f) { f.resolver = "lw"; });  // no prefix matching
    add("model+client", [](ConflictFilter& f) {
        f.model = "Task";
        f.client_id = "c1";
    });
    add("entity+model+range", [](ConflictFilter& f) {
        f.entity_id = "e0";
        f.model = "Note";
        f.from_us = B0 + H;
    });
    add("client+instance+resolution", [](ConflictFilter& f) {
        f.client_id = "c1";
        f.instance = "i1";
        f.resolution = Resolution::server_wins;
    });
    add("resolver+resolution (applied)", [](ConflictFilter& f) {
        f.resolver = "lww";
        f.resolution = Resolution::client_wins;
    });
    add("everything", [](ConflictFilter& f) {
        f.model = "Task";
        f.client_id = "c0";
        f.entity_id = "e0";
        f.instance = "i0";
        f.resolver = "note_merge";
        f.resolution = Resolution::merged;
        f.from_us = B0;
        f.to_us = B0 + 6 * H;
    });

    for (const auto& [name, filter] : cases) {
        const auto want = data.expected(filter);
        INFO("filter " << name);
        if (name != "empty range" && name.rfind("unknown", 0) != 0 && name != "everything") CHECK(!want.empty());
        for (std::size_t limit : {1, 3, 500}) {
            INFO("limit " << limit);
            auto got = walk_conflicts(st, filter, limit);
            REQUIRE(ids_of(got) == ids_of(want));
            if (limit == 3)
                for (std::size_t i = 0; i < got.size(); ++i) check_same(want[i], got[i]);
        }
    }
    // get_conflict agrees with the list.
    for (const auto& want : everything) {
        auto got = st.get_conflict(want.id);
        REQUIRE(got);
        check_same(want, *got);
    }
    // Mutations without a conflict are neither listed nor found.
    std::size_t plain = 0;
    for (const auto& c : data.rows)
        for (const auto& m : c.mutations)
            if (!m.conflict) {
                ++plain;
                CHECK_FALSE(st.get_conflict(m.id));
                CHECK(st.get_mutation(m.id));
            }
    CHECK(plain > 10);
    CHECK_FALSE(st.get_conflict(data.rows[0].request.id));  // a request id is not a mutation id
}

TEMPLATE_TEST_CASE("storage contract: conflict pages see each row once while rows are added",
                   "[storage][contract][conflicts]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    ConflictDataset data(36);
    data.write_to(st);
    long next = 5000;
    Micros newest = B0 + 100 * H;
    for (std::size_t limit : {1, 2, 7, 500}) {
        for (auto filter : {ConflictFilter{}, [] {
                                ConflictFilter f;
                                f.model = "Task";
                                return f;
                            }()}) {
            const auto want = ids_of(data.expected(filter));
            std::vector<CapturedRequest> added;
            auto got = walk_conflicts(st, filter, limit, [&] {
                // Newer conflicts (one tied in time with a larger id) belong to a later walk.
                auto c = request_at(next, newest, "c9", "i0");
                add_mutation(c, next * 10, "Task", "e1", std::vector<std::string>{"/title"});
                add_mutation(c, next * 10 + 1, "Note", "e2", std::vector<std::string>{});
                add_mutation(c, next * 10 + 2, "Task", "e3", std::nullopt);
                st.write_batch({c});
                added.push_back(c);
                ++next;
                ++newest;
            });
            data.rows.insert(data.rows.end(), added.begin(), added.end());
            INFO("limit " << limit << ", model " << filter.model);
            const auto ids = ids_of(got);
            CHECK(ids == want);
            CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
        }
    }
    CHECK(ids_of(walk_conflicts(st, {}, 500)) == ids_of(data.expected({})));
}

TEMPLATE_TEST_CASE("storage contract: conflict patterns per model, client, hour, entity and field",
                   "[storage][contract][conflicts]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    constexpr Micros S = 1'000'000;
    using Paths = std::vector<std::string>;
    std::vector<CapturedRequest> rows;
    {
        auto r1 = request_at(1, B0 + 10 * S, "alice", "i0");
        add_mutation(r1, 1, "Task", "e1", Paths{"/title", "/done"});
        add_mutation(r1, 2, "Task", "e9", std::nullopt);  // not a conflict: not counted
        auto r2 = request_at(2, B0 + 20 * S, "alice", "i0");
        add_mutation(r2, 3, "Task", "e1", Paths{"/title"});
        auto r3 = request_at(3, B0 + H + 5 * S, "bob", "i0");
        add_mutation(r3, 4, "Task", "e2", Paths{"/title"});
        add_mutation(r3, 5, "Note", "n1", Paths{});
        auto r4 = request_at(4, B0 + 3 * H + 1 * S, "carol", "i1");
        add_mutation(r4, 6, "Note", "n1", Paths{"/body", "/body"});  // a field counts once per conflict
        add_mutation(r4, 7, "Task", "e2", Paths{"/done"});
        auto r5 = request_at(5, B0 + 3 * H + 3 * S, "alice", "i1");
        add_mutation(r5, 8, "Project", "p1", Paths{"/name"});
        auto r6 = request_at(6, B0 + 3 * H + 3 * S, "carol", "i1");
        add_mutation(r6, 9, "Note", "a0", Paths{});
        add_mutation(r6, 12, "Task", "a0", Paths{});
        r6.mutations.back().outcome = MutationOutcome::applied;  // client won: still counted
        r6.mutations.back().conflict->resolution = Resolution::client_wins;
        auto r7 = request_at(7, B0 + 5 * H, "dave", "i0");  // after the range
        add_mutation(r7, 10, "Task", "e1", Paths{"/title"});
        auto r8 = request_at(8, B0 - 1, "dave", "i1");  // the hour before
        add_mutation(r8, 11, "Note", "n1", Paths{"/x"});
        rows = {r1, r2, r3, r4, r5};
        st.write_batch(rows);
        st.write_batch({r6, r7});
        st.write_batch({r8});
        rows.insert(rows.end(), {r6, r7, r8});
    }
    auto patterns = [&](ConflictPatternQuery q) {
        auto got = st.conflict_patterns(q);
        INFO("query [" << rel(q.from_us) << ", " << rel(q.to_us) << ") instance '" << q.instance << "' top "
                       << q.top_n);
        check_same(got, expected_patterns(rows, q));  // the oracle agrees, whatever the case
        return got;
    };
    using V = std::vector<std::string>;

    auto p = patterns(pattern_query(B0, B0 + 4 * H));
    CHECK(p.from_us == B0);
    CHECK(p.to_us == B0 + 4 * H);
    CHECK(p.total == 9);
    CHECK(text(p.by_bucket) == V{"+0s:2", "+3600s:2", "+7200s:0", "+10800s:5"});  // every hour, zeros too
    CHECK(text(p.by_model) == V{"Task:5", "Note:3", "Project:1"});
    CHECK(text(p.by_client) == V{"carol:4", "alice:3", "bob:2"});
    CHECK(text(p.by_model_client) ==
          V{"Note/carol:2", "Task/alice:2", "Task/carol:2", "Note/bob:1", "Project/alice:1", "Task/bob:1"});
    // Ties: last seen (newest first), then entity id, then model.
    CHECK(text(p.top_entities) == V{"Task/e2:2@+10801s", "Note/n1:2@+10801s", "Task/e1:2@+20s", "Note/a0:1@+10803s",
                                    "Task/a0:1@+10803s", "Project/p1:1@+10803s"});
    CHECK(text(p.top_fields) == V{"Task/title:3", "Task/done:2", "Note/body:1", "Project/name:1"});

    SECTION("top_n cuts every list but by_bucket; the total is not cut") {
        auto two = patterns(pattern_query(B0, B0 + 4 * H, "", 2));
        CHECK(two.total == 9);
        CHECK(two.by_bucket.size() == 4);
        CHECK(text(two.by_model) == V{"Task:5", "Note:3"});
        CHECK(text(two.by_client) == V{"carol:4", "alice:3"});
        CHECK(text(two.by_model_client) == V{"Note/carol:2", "Task/alice:2"});
        CHECK(text(two.top_entities) == V{"Task/e2:2@+10801s", "Note/n1:2@+10801s"});
        CHECK(text(two.top_fields) == V{"Task/title:3", "Task/done:2"});
        auto none = patterns(pattern_query(B0, B0 + 4 * H, "", 0));
        CHECK(none.total == 9);
        CHECK(none.by_bucket.size() == 4);
        CHECK(none.by_model.empty());
        CHECK(none.by_client.empty());
        CHECK(none.by_model_client.empty());
        CHECK(none.top_entities.empty());
        CHECK(none.top_fields.empty());
        CHECK(patterns(pattern_query(B0, B0 + 4 * H, "", 1000)).by_model_client.size() == 6);
    }
    SECTION("instance filter") {
        auto i1 = patterns(pattern_query(B0, B0 + 4 * H, "i1"));
        CHECK(i1.total == 5);
        CHECK(text(i1.by_bucket) == V{"+0s:0", "+3600s:0", "+7200s:0", "+10800s:5"});
        CHECK(text(i1.by_model) == V{"Note:2", "Task:2", "Project:1"});
        CHECK(text(i1.by_client) == V{"carol:4", "alice:1"});
        auto i0 = patterns(pattern_query(B0, B0 + 4 * H, "i0"));
        CHECK(i0.total == 4);
        CHECK(text(i0.by_client) == V{"alice:2", "bob:2"});
        auto nobody = patterns(pattern_query(B0, B0 + 4 * H, "i"));  // no prefix matching
        CHECK(nobody.total == 0);
        CHECK(text(nobody.by_bucket) == V{"+0s:0", "+3600s:0", "+7200s:0", "+10800s:0"});
        CHECK(nobody.by_model.empty());
        CHECK(nobody.top_fields.empty());
    }
    SECTION("the range widens to whole hours") {
        auto w = patterns(pattern_query(B0 + H + 1800 * S, B0 + 3 * H + 1));
        CHECK(w.from_us == B0 + H);
        CHECK(w.to_us == B0 + 4 * H);
        CHECK(text(w.by_bucket) == V{"+3600s:2", "+7200s:0", "+10800s:5"});
        CHECK(w.total == 7);
        auto inside = patterns(pattern_query(B0 + 10 * S, B0 + 10 * S));  // an instant: its hour
        CHECK(text(inside.by_bucket) == V{"+0s:2"});
        CHECK(inside.total == 2);
        auto empty = patterns(pattern_query(B0, B0));  // aligned and empty
        CHECK(empty.by_bucket.empty());
        CHECK(empty.total == 0);
        CHECK(empty.by_model.empty());
        auto before = patterns(pattern_query(B0 - 1, B0 + 1));
        CHECK(text(before.by_bucket) == V{"-3600s:1", "+0s:2"});
        CHECK(text(before.top_entities) == V{"Task/e1:2@+20s", "Note/n1:1@-1us"});
        auto wide = patterns(pattern_query(B0 - 2 * H, B0 + 6 * H));
        CHECK(wide.by_bucket.size() == 8);
        CHECK(wide.total == 11);
        CHECK(text(wide.by_client) == V{"carol:4", "alice:3", "bob:2", "dave:2"});
    }
    SECTION("bad ranges are InvalidArgument") {
        require_invalid_argument([&] { st.conflict_patterns(pattern_query(B0 + 1, B0)); }, "to");
        require_invalid_argument([&] { st.conflict_patterns(pattern_query(B0, B0 + 20 * 366 * 24 * H)); }, "to");
        require_invalid_argument([&] { st.conflict_patterns(pattern_query(INT64_MIN, INT64_MAX)); }, "to");
        CHECK(st.conflict_patterns(pattern_query(B0 - 366 * 24 * H, B0)).by_bucket.size() == 366 * 24);
        CHECK(st.conflict_patterns(pattern_query(INT64_MAX - 1, INT64_MAX)).total == 0);  // no overflow
        CHECK(st.conflict_patterns(pattern_query(INT64_MIN, INT64_MIN + 1)).total == 0);
    }
}

TEMPLATE_TEST_CASE("storage contract: conflict counts add up across and within batches",
                   "[storage][contract][conflicts]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    // Two datasets over the same hours, clients, models, entities and fields: every count is
    // added to, within batches and across them, in uneven batches not in time order.
    ConflictDataset a(60, 0, B0), b(45, 1000, B0 + 20 * 60 * 1'000'000LL);
    a.write_to(st);
    b.write_to(st);
    std::vector<CapturedRequest> rows = a.rows;
    rows.insert(rows.end(), b.rows.begin(), b.rows.end());
    std::size_t conflicts = 0;
    for (const auto& c : rows)
        for (const auto& m : c.mutations) conflicts += m.conflict ? 1 : 0;

    for (const auto& [from, to] : std::vector<std::pair<Micros, Micros>>{
             {B0, B0 + 8 * H}, {B0 - H, B0 + H}, {B0 + H + 1, B0 + 3 * H - 1}, {B0 + 7 * H, B0 + 30 * H}})
        for (const std::string instance : {"", "i0", "i1"})
            for (std::size_t top_n : {1, 3, 10, 100}) {
                auto q = pattern_query(from, to, instance, top_n);
                INFO("query [" << rel(from) << ", " << rel(to) << ") instance '" << instance << "' top " << top_n);
                check_same(st.conflict_patterns(q), expected_patterns(rows, q));
            }
    auto all = st.conflict_patterns(pattern_query(B0, B0 + 8 * H, "", 100));
    CHECK(all.total == conflicts);
    std::uint64_t sum = 0;
    for (const auto& x : all.by_model) sum += x.conflicts;
    CHECK(sum == conflicts);
    CHECK(all.top_fields.size() > 4);
    CHECK(all.top_entities.size() > 4);
}

TEMPLATE_TEST_CASE("storage contract: conflict counts commit with their batch or not at all",
                   "[storage][contract][conflicts]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    auto good = request_at(1, B0 + 10, "c1", "i0");
    add_mutation(good, 1, "Task", "e1", std::vector<std::string>{"/title"});
    st.write_batch({good});
    const auto q = pattern_query(B0, B0 + 2 * H);
    const auto before = st.conflict_patterns(q);
    REQUIRE(before.total == 1);

    auto conflicted = request_at(2, B0 + H + 10, "c2", "i0");
    add_mutation(conflicted, 2, "Note", "e2", std::vector<std::string>{"/body"});
    add_mutation(conflicted, 3, "Task", "e1", std::vector<std::string>{"/title"});
    auto expect_failure = [&](const std::vector<CapturedRequest>& batch, const RollupBatch& rollups) {
        try {
            st.write_batch(batch, rollups);
            FAIL("write_batch accepted a bad batch");
        } catch (const StorageError& e) {
            CHECK_FALSE(e.transient());
        }
        check_same(st.conflict_patterns(q), before);
        CHECK(ids_of(walk_conflicts(st, {}, 10)) == std::vector<std::string>{make_id('M', 1)});
        CHECK_FALSE(st.get_conflict(make_id('M', 2)));
    };
    SECTION("duplicate request id") {
        auto dup = request_at(1, B0 + 20, "c1", "i0");
        add_mutation(dup, 4, "Task", "e1", std::vector<std::string>{"/title"});
        expect_failure({conflicted, dup}, {});
    }
    SECTION("duplicate mutation id") {
        auto dup = request_at(3, B0 + 20, "c1", "i0");
        add_mutation(dup, 1, "Task", "e1", std::vector<std::string>{"/title"});
        expect_failure({conflicted, dup}, {});
    }
    SECTION("a bad rollup") { expect_failure({conflicted}, rollups_of({make_rollup(W, B0 + 1, "i0", 1)})); }
    SECTION("an id that cannot be paged") {
        auto bad = conflicted;
        bad.mutations[1].id = "bad id";
        expect_failure({bad}, {});
    }
    // Still writable, and the batch then counts once.
    st.write_batch({conflicted});
    auto after = st.conflict_patterns(q);
    CHECK(after.total == 3);
    CHECK(text(after.by_bucket) == std::vector<std::string>{"+0s:1", "+3600s:2"});
    CHECK(text(after.top_entities) ==
          std::vector<std::string>{"Task/e1:2@+3600000010us", "Note/e2:1@+3600000010us"});
}

TEMPLATE_TEST_CASE("storage contract: prune_rollups removes conflict pattern hours that ended",
                   "[storage][contract][conflicts][rollups]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    std::vector<CapturedRequest> rows;
    for (long i = 0; i < 4; ++i) {  // one conflict per hour, B0 - H … B0 + 2H
        auto c = request_at(i, B0 + (i - 1) * H + 60'000'000, "c" + std::to_string(i), "i0");
        add_mutation(c, i, "Task", "e1", std::vector<std::string>{"/f" + std::to_string(i)});
        rows.push_back(c);
    }
    st.write_batch(rows, rollups_of({make_rollup(W, B0, "i0", 1)}));
    const auto q = pattern_query(B0 - H, B0 + 3 * H);
    using V = std::vector<std::string>;
    auto buckets = [&] { return text(st.conflict_patterns(q).by_bucket); };
    REQUIRE(buckets() == V{"-3600s:1", "+0s:1", "+3600s:1", "+7200s:1"});

    CHECK(st.prune_rollups(INT64_MIN) == 0);
    CHECK(st.prune_rollups(B0 - 1) == 0);  // the hour before B0 has not ended yet
    CHECK(buckets() == V{"-3600s:1", "+0s:1", "+3600s:1", "+7200s:1"});
    CHECK(st.prune_rollups(B0) == 0);  // ... now it has; the count is of rollups only
    CHECK(buckets() == V{"-3600s:0", "+0s:1", "+3600s:1", "+7200s:1"});
    CHECK(st.prune_rollups(B0 + H + H / 2) == 1);  // the hour B0 and the rollup in it
    auto p = st.conflict_patterns(q);
    CHECK(text(p.by_bucket) == V{"-3600s:0", "+0s:0", "+3600s:1", "+7200s:1"});
    CHECK(p.total == 2);
    CHECK(text(p.by_client) == V{"c2:1", "c3:1"});
    CHECK(text(p.top_fields) == V{"Task/f2:1", "Task/f3:1"});
    CHECK(text(p.top_entities) == V{"Task/e1:2@+7260s"});
    // The conflicts themselves are request data: untouched.
    CHECK(walk_conflicts(st, {}, 10).size() == 4);
    CHECK(st.prune_rollups(INT64_MAX) == 0);
    p = st.conflict_patterns(q);
    CHECK(p.total == 0);
    CHECK(p.by_model.empty());
    CHECK(p.top_entities.empty());
    CHECK(p.top_fields.empty());
    // A pruned hour starts afresh.
    auto again = request_at(10, B0 + 5, "c9", "i0");
    add_mutation(again, 10, "Note", "n1", std::vector<std::string>{"/x"});
    st.write_batch({again});
    CHECK(buckets() == V{"-3600s:0", "+0s:1", "+3600s:0", "+7200s:0"});
}

TEMPLATE_TEST_CASE("storage contract: pruned requests take their conflicts along, not the patterns",
                   "[storage][contract][conflicts]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    ConflictDataset data(30);
    data.write_to(st);
    const auto q = pattern_query(B0, B0 + 4 * H, "", 100);
    const auto before = st.conflict_patterns(q);
    check_same(before, expected_patterns(data.rows, q));
    REQUIRE(before.total > 0);

    // By count: the newest requests and their conflicts stay.
    RetentionPolicy keep;
    keep.max_requests = 10;
    CHECK(st.prune(keep, B0, 1000) == 20);
    auto rows = data.rows;
    std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
        return std::tie(x.request.started_at_us, x.request.id) > std::tie(y.request.started_at_us, y.request.id);
    });
    ConflictDataset kept(0);
    kept.rows.assign(rows.begin(), rows.begin() + 10);
    CHECK(ids_of(walk_conflicts(st, {}, 4)) == ids_of(kept.expected({})));
    for (auto it = rows.begin() + 10; it != rows.end(); ++it)
        for (const auto& m : it->mutations) CHECK_FALSE(st.get_conflict(m.id));
    check_same(st.conflict_patterns(q), before);

    RetentionPolicy all;
    all.max_age_us = 1;
    while (st.prune(all, B0 + 100 * H, 3) > 0) {
    }
    CHECK(st.count_requests() == 0);
    CHECK(st.list_conflicts({}, {}).items.empty());
    check_same(st.conflict_patterns(q), before);
}

TEMPLATE_TEST_CASE("storage contract: readers see conflict patterns of whole batches",
                   "[storage][contract][conflicts]", TETHER_STORAGE_BACKENDS) {
    TestType backend;
    Storage& st = *backend.storage;
    std::atomic<bool> done{false};
    std::string writer_error;
    const char* models[] = {"Task", "Note", "Project"};
    std::thread writer([&] {
        try {
            for (long b = 0; b < 60; ++b) {
                auto c = request_at(b, B0 + b * 2 * 60'000'000, "c" + std::to_string(b % 4), "i0");
                for (long k = 0; k < 3; ++k)
                    add_mutation(c, b * 10 + k, models[(b + k) % 3], "e" + std::to_string(b % 5),
                                 std::vector<std::string>{"/a", "/b"});
                st.write_batch({c});
            }
        } catch (const std::exception& e) {
            writer_error = e.what();
        }
        done = true;
    });
    JoinOnExit join{done, writer};
    const auto q = pattern_query(B0, B0 + 2 * H, "", 100);
    int reads = 0;
    while (!done || reads < 2) {
        // Every list of one answer comes from the same committed batches.
        auto before = st.count_mutations();
        auto p = st.conflict_patterns(q);
        auto after = st.count_mutations();
        std::uint64_t models_sum = 0, clients_sum = 0, pairs_sum = 0, entities_sum = 0, fields_sum = 0;
        for (const auto& x : p.by_model) models_sum += x.conflicts;
        for (const auto& x : p.by_client) clients_sum += x.conflicts;
        for (const auto& x : p.by_model_client) pairs_sum += x.conflicts;
        for (const auto& x : p.top_entities) entities_sum += x.conflicts;
        for (const auto& x : p.top_fields) fields_sum += x.conflicts;
        REQUIRE(before <= p.total);
        REQUIRE(p.total <= after);
        REQUIRE(p.total % 3 == 0);
        REQUIRE(models_sum == p.total);
        REQUIRE(clients_sum == p.total);
        REQUIRE(pairs_sum == p.total);
        REQUIRE(entities_sum == p.total);
        REQUIRE(fields_sum == 2 * p.total);
        ++reads;
    }
    writer.join();
    CHECK(writer_error.empty());
    CHECK(st.conflict_patterns(q).total == 180);
    CHECK(walk_conflicts(st, {}, 500).size() == 180);
}

#ifdef TETHER_HAVE_SQLITE

TEST_CASE("sqlite storage: data and schema version persist across reopen", "[storage][sqlite]") {
    test::TempDir dir;
    const auto db = dir.file("persist.db");
    {
        auto st = open_sqlite_storage({db});
        st->write_batch({simple_request(1, T0, "c1", 3), simple_request(2, T0 + 1, "c2", 1, "Note")});
        CHECK(st->describe() == "sqlite:" + db);
    }
    {
        SQLite::Database raw(db);
        CHECK(raw.execAndGet("SELECT max(version) FROM schema_version").getInt() == sqlite_schema_version());
        CHECK(sqlite_schema_version() >= 1);
    }
    auto st = open_sqlite_storage({db});  // reopening does not migrate again or lose anything
    CHECK(st->count_requests() == 2);
    CHECK(st->count_mutations() == 4);
    RequestFilter note;
    note.model = "Note";
    CHECK(ids_of(st->list_requests(note, {}).items) == std::vector<std::string>{make_id('R', 2)});
    SQLite::Database raw(db);
    CHECK(raw.execAndGet("SELECT count(*) FROM schema_version").getInt() == sqlite_schema_version());
}

TEST_CASE("sqlite storage: a database from a newer schema version is refused", "[storage][sqlite]") {
    test::TempDir dir;
    const auto db = dir.file("future.db");
    open_sqlite_storage({db})->write_batch({simple_request(1, T0)});
    {
        SQLite::Database raw(db, SQLite::OPEN_READWRITE);
        raw.exec("INSERT INTO schema_version (version, applied_at) VALUES (" +
                 std::to_string(sqlite_schema_version() + 1) + ", 0)");
    }
    try {
        open_sqlite_storage({db});
        FAIL("opened a database with a newer schema");
    } catch (const StorageError& e) {
        CHECK_FALSE(e.transient());
        std::string msg = e.what();
        CHECK(msg.find("newer") != std::string::npos);
        CHECK(msg.find(std::to_string(sqlite_schema_version() + 1)) != std::string::npos);
        CHECK(msg.find(db) != std::string::npos);
    }
}

TEST_CASE("sqlite storage: WAL mode, and clear errors for unusable files", "[storage][sqlite]") {
    test::TempDir dir;
    const auto db = dir.file("wal.db");
    auto st = open_sqlite_storage({db});
    st->write_batch({simple_request(1, T0)});
    {
        SQLite::Database raw(db);
        CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
    }
    CHECK_THROWS_AS(open_sqlite_storage({dir.file("no/such/dir/x.db")}), StorageError);
    {
        std::FILE* f = std::fopen(dir.file("garbage.db").c_str(), "wb");
        REQUIRE(f);
        std::fputs("this is definitely not an SQLite database file, just some text padding it out....", f);
        std::fclose(f);
    }
    try {
        open_sqlite_storage({dir.file("garbage.db")});
        FAIL("opened a non-database file");
    } catch (const StorageError& e) {
        CHECK_FALSE(e.transient());
    }
}

TEST_CASE("sqlite storage: a new file gets the configured page size, an existing file keeps its own",
          "[storage][sqlite]") {
    test::TempDir dir;
    const auto page_size = [](const std::string& path) {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        return db.execAndGet("PRAGMA page_size").getInt();
    };
    {
        auto st = open_sqlite_storage({dir.file("default.db")});
        st->write_batch({simple_request(1, T0)});
    }
    CHECK(page_size(dir.file("default.db")) == SqliteOptions{}.page_size);
    CHECK(SqliteOptions{}.page_size == 16384);

    SqliteOptions small{dir.file("small.db")};
    small.page_size = 4096;
    open_sqlite_storage(small)->write_batch({simple_request(1, T0)});
    CHECK(page_size(small.path) == 4096);
    // Reopened with another page size: the file and its data stay as they are.
    SqliteOptions big{small.path};
    big.page_size = 65536;
    auto st = open_sqlite_storage(big);
    st->write_batch({simple_request(2, T0 + 1)});
    CHECK(st->count_requests() == 2);
    CHECK(page_size(small.path) == 4096);

    for (int bad : {0, 256, 1000, 4095, 131072, -4096}) {
        SqliteOptions o{dir.file("bad.db")};
        o.page_size = bad;
        try {
            open_sqlite_storage(o);
            FAIL("page_size " << bad << " was accepted");
        } catch (const StorageError& e) {
            CHECK_FALSE(e.transient());
            CHECK_THAT(e.what(), Catch::Contains("page_size " + std::to_string(bad)) &&
                                     Catch::Contains("power of two from 512 to 65536"));
        }
        CHECK_FALSE(std::filesystem::exists(o.path));  // refused before anything was created
    }
}

TEST_CASE("sqlite storage: a full database fails the batch as a whole, transiently", "[storage][sqlite]") {
    test::TempDir dir;
    SqliteOptions o;
    o.path = dir.file("full.db");
    o.page_size = 4096;
    o.max_page_count = 64;  // 256 KiB
    auto st = open_sqlite_storage(o);
    st->write_batch({simple_request(1, T0, "c1", 1)});
    std::vector<CapturedRequest> big;
    for (long i = 2; i < 12; ++i) {
        auto c = simple_request(i, T0 + i, "c1", 1);
        c.request.request_body.assign(64 * 1024, 'x');
        big.push_back(std::move(c));
    }
    try {
        st->write_batch(big);
        FAIL("a batch larger than the database cap was accepted");
    } catch (const StorageError& e) {
        CHECK(e.transient());  // pruning may make room: the writer should retry
    }
    CHECK(st->count_requests() == 1);
    CHECK(ids_of(st->list_requests({}, {}).items) == std::vector<std::string>{make_id('R', 1)});
    st->write_batch({simple_request(2, T0 + 2, "c1", 1)});
    CHECK(st->count_requests() == 2);
}

TEST_CASE("sqlite storage: rollups persist across reopen", "[storage][sqlite][rollups]") {
    test::TempDir dir;
    const auto db = dir.file("rollups.db");
    {
        auto st = open_sqlite_storage({db});
        st->write_batch({simple_request(1, B0)},
                        rollups_of({make_rollup(W, B0, "i0", 1), make_rollup(H, B0, "i1", 2)}));
        st->write_batch({}, rollups_of({make_rollup(W, B0, "i0", 3)}));
    }
    auto st = open_sqlite_storage({db});
    auto five = st->read_rollups(W, B0, B0 + H, "");
    REQUIRE(five.size() == 1);
    auto want = make_rollup(W, B0, "i0", 1);
    want.merge(make_rollup(W, B0, "i0", 3));
    check_same(five[0], want);
    auto hour = st->read_rollups(H, B0, B0 + H, "i1");
    REQUIRE(hour.size() == 1);
    check_same(hour[0], make_rollup(H, B0, "i1", 2));
    // And they keep merging after the reopen.
    st->write_batch({}, rollups_of({make_rollup(W, B0, "i0", 4)}));
    want.merge(make_rollup(W, B0, "i0", 4));
    check_same(st->read_rollups(W, B0, B0 + H, "").at(0), want);
}

namespace {

// A database as open_sqlite_storage of schema `version` left it: migrations 1..version.
void create_schema(SQLite::Database& raw, int version) {
    raw.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    for (int v = 1; v <= version; ++v) {
        raw.exec(detail::sqlite_migrations().at(static_cast<std::size_t>(v - 1)));
        raw.exec("INSERT INTO schema_version (version, applied_at) VALUES (" + std::to_string(v) + ", 0)");
    }
}

// The migrated schema is the one a new database gets.
void check_schema_is_fresh(SQLite::Database& migrated, const test::TempDir& dir) {
    auto fresh_db = dir.file("fresh.db");
    open_sqlite_storage({fresh_db});
    SQLite::Database fresh(fresh_db);
    const std::string schema =
        "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master "
        "WHERE name <> 'schema_version' ORDER BY name)";
    CHECK(migrated.execAndGet(schema).getString() == fresh.execAndGet(schema).getString());
}

// The request columns of schema version 1, for rows written as that version wrote them.
constexpr const char* v1_request_insert =
    "INSERT INTO requests (id, kind, client_id, client_version, instance, started_at, duration_us, "
    "http_status, outcome, mutation_count, applied, rejected, conflicts, snapshots, models, "
    "request_truncated, response_truncated, request_body_dropped, response_body_dropped, "
    "request_body_scrubbed, response_body_scrubbed, replay_of, recorded_at, headers, redacted_paths, notes, "
    "request_body, response_body) VALUES ";

}  // namespace

TEST_CASE("sqlite storage: a schema version 1 database is migrated and keeps its requests",
          "[storage][sqlite][rollups]") {
    REQUIRE(sqlite_schema_version() >= 2);
    test::TempDir dir;
    const auto db = dir.file("v1.db");
    {
        // What open_sqlite_storage of schema version 1 left behind, with two requests in it.
        SQLite::Database raw(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        raw.exec("PRAGMA journal_mode = WAL");
        SQLite::Transaction tx(raw);
        create_schema(raw, 1);
        SQLite::Statement insert(
            raw,
            std::string(v1_request_insert) + "(?, 'push', 'c1', '1.0', 'i0', ?, 1500, 200, 'ok', 0, 0, 0, 0, 0, "
            "'[\"Task\"]', 0, 0, 0, 0, 0, 0, '', ?, '[]', '[]', '[]', CAST('{}' AS BLOB), CAST('' AS BLOB))");
        for (long i : {1, 2}) {
            insert.reset();
            insert.bind(1, make_id('R', i));
            insert.bind(2, static_cast<std::int64_t>(B0 + i));
            insert.bind(3, static_cast<std::int64_t>(B0 + i + 10));
            insert.exec();
            raw.exec("INSERT INTO request_models (model, started_at, request_id) VALUES ('Task', " +
                     std::to_string(B0 + i) + ", '" + make_id('R', i) + "')");
        }
        raw.exec("UPDATE counters SET value = 2 WHERE name = 'requests'");
        tx.commit();
        CHECK_FALSE(raw.tableExists("rollups"));
    }
    {
        auto st = open_sqlite_storage({db});
        CHECK(st->count_requests() == 2);
        RequestFilter task;
        task.model = "Task";
        CHECK(ids_of(walk(*st, task, 1)) == std::vector<std::string>{make_id('R', 2), make_id('R', 1)});
        auto r = st->get_request(make_id('R', 1));
        REQUIRE(r);
        CHECK(r->duration_us == 1500);
        CHECK(r->client_version == "1.0");
        CHECK(r->request_body == "{}");
        CHECK(st->read_rollups(W, INT64_MIN, INT64_MAX, "").empty());
        st->write_batch({simple_request(3, B0 + 3)}, rollups_of({make_rollup(W, B0, "i0", 1)}));
        CHECK(st->count_requests() == 3);
        REQUIRE(st->read_rollups(W, B0, B0 + W, "i0").size() == 1);
        check_same(st->read_rollups(W, B0, B0 + W, "i0")[0], make_rollup(W, B0, "i0", 1));
    }
    SQLite::Database raw(db);
    CHECK(raw.execAndGet("SELECT max(version) FROM schema_version").getInt() == sqlite_schema_version());
    CHECK(raw.execAndGet("SELECT count(*) FROM schema_version").getInt() == sqlite_schema_version());
    check_schema_is_fresh(raw, dir);
}

TEST_CASE("sqlite storage: unreadable rollup columns are named, and block no other bucket",
          "[storage][sqlite][rollups]") {
    test::TempDir dir;
    const auto db = dir.file("corrupt.db");
    auto st = open_sqlite_storage({db});
    st->write_batch({}, rollups_of({make_rollup(W, B0, "i0", 1), make_rollup(W, B0 + W, "i0", 2)}));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"latency", "'12:3,oops'"},
        {"models", "'[1,2,3]'"},
        {"models", "'{\"Task\":[1,-2,3]}'"},
        {"models", "'{\"Task\":[1,2.5]}'"},
        {"models", "'{\"Task\":[01]}'"},
        {"models", "'{\"Task\":[1]'"},
        {"models", "'{\"Task\":[99999999999999999999]}'"},
        {"clients", "'{\"c1\":1}'"},
        {"clients", "'not json'"},
        {"requests", "'many'"},
        {"duration_max_us", "1.5"},
    };
    for (const auto& [column, value] : cases) {
        INFO(column << " = " << value);
        {
            SQLite::Database raw(db, SQLite::OPEN_READWRITE);
            raw.exec("UPDATE rollups SET " + column + " = " + value + " WHERE start_us = " + std::to_string(B0));
        }
        try {
            st->read_rollups(W, B0, B0 + H, "");
            FAIL("read a corrupt rollup");
        } catch (const StorageError& e) {
            CHECK_FALSE(e.transient());
            CHECK(std::string(e.what()).find("rollups." + column) != std::string::npos);
        }
        // Writing into the damaged bucket fails the batch; other buckets still work.
        CHECK_THROWS_AS(st->write_batch({simple_request(1, B0)}, rollups_of({make_rollup(W, B0, "i0", 1)})),
                        StorageError);
        CHECK_FALSE(st->get_request(make_id('R', 1)));
        CHECK(st->read_rollups(W, B0 + W, B0 + H, "").size() == 1);
        // Repair it for the next case.
        SQLite::Database raw(db, SQLite::OPEN_READWRITE);
        raw.exec("DELETE FROM rollups WHERE start_us = " + std::to_string(B0));
        st->write_batch({}, rollups_of({make_rollup(W, B0, "i0", 1)}));
    }
    // Breakdowns written with fewer counters (an older layout) read with zeros; any JSON
    // spelling of the same shape reads the same.
    {
        SQLite::Database raw(db, SQLite::OPEN_READWRITE);
        raw.exec(
            "UPDATE rollups SET models = '{\"Task\":[4],\"Note\":[]}', clients = '{\"c\":[1,2,3,99]}' "
            "WHERE start_us = " +
            std::to_string(B0));
        raw.exec(
            "UPDATE rollups SET models = '{ \"Ta\\u0073k\" : [ 1, 2, 3 ] }', clients = '{}' "
            "WHERE start_us = " +
            std::to_string(B0 + W));
    }
    auto r = st->read_rollups(W, B0, B0 + W, "").at(0);
    CHECK(r.models == std::map<std::string, ModelCounts>{{"Note", {0, 0, 0}}, {"Task", {4, 0, 0}}});
    CHECK(r.clients == std::map<std::string, ClientCounts>{{"c", {1, 2, 3}}});
    r = st->read_rollups(W, B0 + W, B0 + H, "").at(0);
    CHECK(r.models == std::map<std::string, ModelCounts>{{"Task", {1, 2, 3}}});
    CHECK(r.clients.empty());
}

TEST_CASE("sqlite storage: a schema version 2 database is migrated, its conflicts listed and counted",
          "[storage][sqlite][conflicts]") {
    REQUIRE(sqlite_schema_version() >= 3);
    test::TempDir dir;
    const auto db = dir.file("v2.db");
    {
        // What open_sqlite_storage of schema version 2 left behind: one push with a conflicted
        // and a plain mutation, plus a rollup.
        SQLite::Database raw(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        raw.exec("PRAGMA journal_mode = WAL");
        SQLite::Transaction tx(raw);
        create_schema(raw, 2);
        SQLite::Statement request(
            raw,
            std::string(v1_request_insert) + "(?, 'push', 'c1', '2.0.1', 'i0', ?, 1500, 200, 'conflict', 2, 1, 0, "
            "1, 0, '[\"Task\"]', 0, 0, 0, 0, 0, 0, '', ?, '[]', '[]', '[]', CAST('{}' AS BLOB), CAST('' AS BLOB))");
        request.bind(1, make_id('R', 1));
        request.bind(2, static_cast<std::int64_t>(B0 + 5));
        request.bind(3, static_cast<std::int64_t>(B0 + 15));
        request.exec();
        const std::string mutation =
            "INSERT INTO mutations (id, request_id, seq, client_id, instance, started_at, mutation_id, entity_id, "
            "model, operation, version, client_timestamp_ms, outcome, reason, payload_redacted, has_conflict, "
            "conflict_reason, conflict_resolver, conflict_resolution, conflict_server_updated_at, conflict_by_host, "
            "conflict_in_response, validation, rejection_data, payload_diff, change_diff, conflict_server_state, "
            "state_before, state_after, payload) VALUES ";
        raw.exec(mutation + "('" + make_id('M', 1) + "', '" + make_id('R', 1) + "', 0, 'c1', 'i0', " +
                 std::to_string(B0 + 5) +
                 ", 'mu1', 'e1', 'Task', 'update', 3, NULL, 'applied', 'conflict', 0, 1, 'conflict', 'lww', "
                 "'client_wins', '2026-01-01', 1, 0, '', '', '[]', '[]', '{\"t\":\"s\"}', '', '', '{\"t\":\"c\"}')");
        raw.exec(mutation + "('" + make_id('M', 2) + "', '" + make_id('R', 1) + "', 1, 'c1', 'i0', " +
                 std::to_string(B0 + 5) +
                 ", 'mu2', 'e2', 'Task', 'create', NULL, NULL, 'applied', '', 0, 0, '', '', NULL, '', 0, 0, '', '', "
                 "'[]', '[]', '', '', '', '{}')");
        raw.exec("INSERT INTO request_models (model, started_at, request_id) VALUES ('Task', " +
                 std::to_string(B0 + 5) + ", '" + make_id('R', 1) + "')");
        raw.exec("UPDATE counters SET value = 1 WHERE name = 'requests'");
        raw.exec("UPDATE counters SET value = 2 WHERE name = 'mutations'");
        tx.commit();
    }
    const auto q = pattern_query(B0, B0 + H);
    {
        auto st = open_sqlite_storage({db});
        CHECK(st->count_requests() == 1);
        CHECK(st->count_mutations() == 2);
        auto listed = st->list_conflicts({}, {});
        REQUIRE(listed.items.size() == 1);
        const auto& c = listed.items[0];
        CHECK(c.id == make_id('M', 1));
        CHECK(c.request_id == make_id('R', 1));
        CHECK(c.client_version == "2.0.1");
        CHECK(c.resolver == "lww");
        CHECK(c.resolution == Resolution::client_wins);
        CHECK(c.outcome == MutationOutcome::applied);
        CHECK(c.server_state_json == "{\"t\":\"s\"}");
        CHECK(c.payload_json == "{\"t\":\"c\"}");
        CHECK(c.fields.empty());  // not known before version 3
        CHECK_FALSE(st->get_conflict(make_id('M', 2)));
        auto m = st->get_mutation(make_id('M', 1));
        REQUIRE(m);
        REQUIRE(m->conflict);
        CHECK(m->conflict->fields.empty());
        // Stored conflicts are counted by the migration (fields excepted).
        auto p = st->conflict_patterns(q);
        CHECK(p.total == 1);
        CHECK(text(p.by_model_client) == std::vector<std::string>{"Task/c1:1"});
        CHECK(text(p.top_entities) == std::vector<std::string>{"Task/e1:1@+5us"});
        CHECK(p.top_fields.empty());
        // New conflicts add to the migrated counts.
        auto c2 = request_at(2, B0 + 50, "c1", "i0", "2.1");
        add_mutation(c2, 3, "Task", "e1", std::vector<std::string>{"/t"});
        st->write_batch({c2});
        p = st->conflict_patterns(q);
        CHECK(p.total == 2);
        CHECK(text(p.top_entities) == std::vector<std::string>{"Task/e1:2@+50us"});
        CHECK(text(p.top_fields) == std::vector<std::string>{"Task/t:1"});
        CHECK(ids_of(st->list_conflicts({}, {}).items) == std::vector<std::string>{make_id('M', 3), make_id('M', 1)});
    }
    {
        // And it all persists across a reopen.
        auto st = open_sqlite_storage({db});
        CHECK(st->conflict_patterns(q).total == 2);
        auto c = st->get_conflict(make_id('M', 3));
        REQUIRE(c);
        CHECK(c->client_version == "2.1");
        REQUIRE(c->fields.size() == 1);
        CHECK(c->fields[0].path == "/t");
    }
    SQLite::Database raw(db);
    CHECK(raw.execAndGet("SELECT max(version) FROM schema_version").getInt() == sqlite_schema_version());
    check_schema_is_fresh(raw, dir);
}

TEST_CASE("sqlite storage: a schema version 5 database is migrated, its replays listed, new ones audited",
          "[storage][sqlite][replay]") {
    REQUIRE(sqlite_schema_version() >= 6);
    test::TempDir dir;
    const auto db = dir.file("v5.db");
    {
        // What open_sqlite_storage of schema version 5 left behind: a push and a replay of it
        // (replay_of was stored from the start; who replayed it was not).
        SQLite::Database raw(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        raw.exec("PRAGMA journal_mode = WAL");
        SQLite::Transaction tx(raw);
        create_schema(raw, 5);
        SQLite::Statement insert(
            raw, std::string(v1_request_insert) + "(?, 'push', 'c1', '1.0', 'i0', ?, 1500, 200, 'ok', 0, 0, 0, 0, 0, "
                                                  "'[]', 0, 0, 0, 0, 0, 0, ?, ?, '[]', '[]', '[]', "
                                                  "CAST('{}' AS BLOB), CAST('' AS BLOB))");
        for (long i : {1, 2}) {
            insert.reset();
            insert.bind(1, make_id('R', i));
            insert.bind(2, static_cast<std::int64_t>(B0 + i));
            insert.bind(3, i == 2 ? make_id('R', 1) : std::string());
            insert.bind(4, static_cast<std::int64_t>(B0 + i));
            insert.exec();
        }
        raw.exec("UPDATE counters SET value = 2 WHERE name = 'requests'");
        tx.commit();
        CHECK_FALSE(raw.tableExists("replay_audits"));
    }
    ReplayAudit audit{"ops@example.com", B0 + 30, {{"mut-1", "01JD3Z6Q8Y9V4K2M1N0P7R5S3A"}}, {{1, "mut-2", "redacted"}}};
    {
        auto st = open_sqlite_storage({db});
        auto links = st->list_replays(make_id('R', 1), {}).items;
        REQUIRE(links.size() == 1);
        CHECK(links[0].id == make_id('R', 2));
        CHECK_FALSE(links[0].audit);  // replayed before audits were stored
        auto replay = simple_request(3, B0 + 3);
        replay.request.replay_of = make_id('R', 1);
        replay.request.replay_audit = audit;
        st->write_batch({replay});
        links = st->list_replays(make_id('R', 1), {}).items;
        REQUIRE(links.size() == 2);
        CHECK(links[0].id == make_id('R', 3));
        REQUIRE(links[0].audit);
        CHECK(*links[0].audit == audit);
        CHECK(*st->get_request(make_id('R', 3))->replay_audit == audit);
        // Retention deletes the audit with its request (cascade).
        RetentionPolicy keep2;
        keep2.max_requests = 2;
        REQUIRE(st->prune(keep2, B0, 10) == 1);
        RetentionPolicy keep0;
        keep0.max_age_us = 1;
        REQUIRE(st->prune(keep0, B0 + 10, 10) == 2);
    }
    SQLite::Database raw(db);
    CHECK(raw.execAndGet("SELECT count(*) FROM replay_audits").getInt() == 0);
    CHECK(raw.execAndGet("SELECT max(version) FROM schema_version").getInt() == sqlite_schema_version());
    check_schema_is_fresh(raw, dir);
}

TEST_CASE("sqlite storage: unreadable conflict fields are named", "[storage][sqlite][conflicts]") {
    test::TempDir dir;
    const auto db = dir.file("corrupt-conflicts.db");
    auto st = open_sqlite_storage({db});
    auto c = request_at(1, B0, "c1", "i0");
    add_mutation(c, 1, "Task", "e1", std::vector<std::string>{"/t"});
    add_mutation(c, 2, "Task", "e2", std::vector<std::string>{"/t"});
    st->write_batch({c});
    for (const std::string value : {"'not json'", "'{}'", "'[{\"path\":1}]'"}) {
        INFO("conflict_fields = " << value);
        {
            SQLite::Database raw(db, SQLite::OPEN_READWRITE);
            raw.exec("UPDATE mutations SET conflict_fields = " + value + " WHERE id = '" + make_id('M', 1) + "'");
        }
        for (const std::function<void()>& read : std::vector<std::function<void()>>{
                 [&] { st->get_conflict(make_id('M', 1)); }, [&] { st->list_conflicts({}, {}); },
                 [&] { st->get_mutation(make_id('M', 1)); }}) {
            try {
                read();
                FAIL("read an unreadable conflict_fields column");
            } catch (const StorageError& e) {
                CHECK_FALSE(e.transient());
                CHECK(std::string(e.what()).find("mutations.conflict_fields") != std::string::npos);
            }
        }
        CHECK(st->get_conflict(make_id('M', 2)));  // the other row still reads
    }
}

#endif
