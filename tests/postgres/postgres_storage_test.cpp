// What only the PostgreSQL backend has: several processes writing one database at once, day
// partitions, reconnecting after a dropped connection, a URL with a password in it, and
// schema versions. The shared behaviour is the contract suite (tests/contract), which
// tether_postgres_tests runs against PostgreSQL too.
#include "tether/postgres_storage.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <set>
#include <thread>

#include "postgres/pg_fixture.hpp"
#include "tether/errors.hpp"
#include "tether/open_storage.hpp"
#include "tether/storage.hpp"
#include "tether/telemetry.hpp"

using namespace tether;
using test::PgSchema;

namespace {

constexpr Micros H = one_hour_us;
constexpr Micros D = 24 * H;
constexpr Micros DAY0 = 1'795'564'800'000'000;  // a UTC midnight (2026-11-25)
static_assert(DAY0 % D == 0);

std::string make_id(char tag, long n) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%c%025ld", tag, n);
    return buf;
}

// A push from `client` at `at` with one rejected and one conflicted mutation, as the pipeline
// writes them (the mutations carry the request's client, instance and time).
CapturedRequest push(long n, Micros at, const std::string& client, const std::string& instance,
                     const std::string& poison_id = "") {
    CapturedRequest c;
    auto& r = c.request;
    r.id = make_id('R', n);
    r.kind = ExchangeKind::push;
    r.client_id = client;
    r.client_version = "1.0";
    r.instance = instance;
    r.started_at_us = at;
    r.http_status = 200;
    r.outcome = RequestOutcome::rejected;
    r.models = {"Task"};
    for (int k = 0; k < 2; ++k) {
        MutationRecord m;
        m.id = make_id('M', n * 10 + k);
        m.request_id = r.id;
        m.seq = static_cast<std::uint32_t>(k);
        m.client_id = client;
        m.instance = instance;
        m.started_at_us = at;
        m.mutation_id = k == 0 && !poison_id.empty() ? poison_id : "mid-" + m.id;
        m.entity_id = "e1";
        m.model = "Task";
        m.operation = "update";
        m.payload_json = R"({"title":""})";
        if (k == 0) {
            m.outcome = MutationOutcome::rejected;
            m.reason = "validation_failed";
            m.validation_json = R"({"title":["The title field is required."]})";
        } else {
            m.outcome = MutationOutcome::conflict;
            m.reason = "conflict";
            ConflictInfo ci;
            ci.reason = "conflict";
            ci.resolver = "lww";
            ci.resolution = Resolution::server_wins;
            ci.server_state_json = R"({"title":"server"})";
            ci.reported_in_response = true;
            ci.fields = {{"/title", ChangeOp::changed, "\"server\"", "\"\""}};
            m.conflict = std::move(ci);
        }
        c.mutations.push_back(std::move(m));
    }
    r.mutation_count = 2;
    r.rejected = 1;
    r.conflicts = 1;
    return c;
}

// The rollup a batch of `requests` pushes adds to one bucket.
Rollup rollup_of(Micros start, const std::string& instance, std::uint64_t requests, const std::string& client) {
    Rollup r;
    r.width_us = five_minutes_us;
    r.start_us = start;
    r.instance = instance;
    r.requests = r.pushes = r.failed_requests = r.conflict_requests = requests;
    r.mutations = 2 * requests;
    r.rejected = r.conflicts = requests;
    r.duration_sum_us = 1000 * requests;
    r.duration_max_us = 1000;
    r.latency.add(1000.0, requests);
    r.models["Task"] = {2 * requests, requests, requests};
    r.clients[client] = {requests, 2 * requests, requests};
    return r;
}

template <class F>
StorageError storage_error_of(F&& f) {
    try {
        f();
    } catch (const StorageError& e) {
        return e;
    }
    FAIL("expected a StorageError");
    return StorageError("unreachable");
}

// "postgresql://user:PASSWORD@host…" -> PASSWORD
std::string password_of(const std::string& url) {
    const auto start = url.find("://") + 3, at = url.find('@', start);
    const auto colon = url.find(':', start);
    REQUIRE(at != std::string::npos);
    REQUIRE(colon < at);
    return url.substr(colon + 1, at - colon - 1);
}

std::vector<std::string> partition_days(const PgSchema& schema) {
    std::vector<std::string> out;
    for (const auto& row : schema.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                       "WHERE i.inhparent = 'requests'::regclass ORDER BY 1"))
        out.push_back(row[0].as<std::string>());
    return out;
}

}  // namespace

TEST_CASE("postgres storage: concurrent writers lose no update", "[postgres]") {
    // Each thread stands for a sync server process: a storage (two connections) of its own,
    // writing the same clients, failure groups, conflict hours, poison mutation and rollup
    // rows as every other, on days none of them has seen before (partitions race too).
    PgSchema schema;
    constexpr int writers = 4, batches = 15, per_batch = 4;
    const Micros t0 = DAY0 + 10 * H;
    std::vector<std::shared_ptr<Storage>> stores;
    for (int w = 0; w < writers; ++w) stores.push_back(open_postgres_storage(schema.options()));

    std::atomic<int> ready{0};
    std::vector<std::string> errors(writers);
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            ++ready;
            while (ready < writers) std::this_thread::yield();
            try {
                for (int b = 0; b < batches; ++b) {
                    std::vector<CapturedRequest> batch;
                    // Two days per batch: day b % 3 of three shared ones, so partitions race.
                    const Micros at = t0 + (b % 3) * D + b;
                    for (int k = 0; k < per_batch; ++k) {
                        const long n = (w * batches + b) * per_batch + k;
                        batch.push_back(
                            push(n, at + k, k % 2 ? "c-shared" : "c-" + std::to_string(w), "i-shared", "poison-1"));
                    }
                    RollupBatch rollups;
                    rollups.items = {rollup_of(t0 - t0 % five_minutes_us, "i-shared", per_batch, "c-shared"),
                                     rollup_of(t0 - t0 % five_minutes_us, "i-" + std::to_string(w), per_batch, "c-x")};
                    for (int attempt = 0;; ++attempt) {
                        try {
                            stores[static_cast<std::size_t>(w)]->write_batch(batch, rollups);
                            break;
                        } catch (const StorageError& e) {
                            // What the recorder does with a transient error (deadlock, …): retry.
                            if (!e.transient() || attempt >= 5) throw;
                        }
                    }
                }
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(w)] = e.what();
            }
        });
    for (auto& t : threads) t.join();
    for (const auto& e : errors) CHECK(e.empty());

    const std::uint64_t total = writers * batches * per_batch;
    auto& st = *stores[0];
    CHECK(st.count_requests() == total);
    CHECK(st.count_mutations() == 2 * total);

    // One shared rollup row: every writer's share added, histograms merged.
    auto shared = st.read_rollups(five_minutes_us, t0 - H, t0 + H, "i-shared");
    REQUIRE(shared.size() == 1);
    CHECK(shared[0].requests == total);
    CHECK(shared[0].mutations == 2 * total);
    CHECK(shared[0].duration_sum_us == 1000 * total);
    CHECK(shared[0].latency.count() == total);
    CHECK(shared[0].models.at("Task").mutations == 2 * total);
    CHECK(shared[0].clients.at("c-shared").requests == total);
    CHECK(st.read_rollups(five_minutes_us, t0 - H, t0 + H, "").size() == writers + 1);

    FailureGroupQuery gq;
    gq.now_us = t0 + 3 * D;
    auto groups = st.failure_groups(gq, {});
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].count == total);
    CHECK(groups[0].clients == writers + 1);

    auto shared_client = st.get_client("c-shared", {});
    REQUIRE(shared_client);
    CHECK(shared_client->requests == total / 2);
    CHECK(shared_client->mutations == total);
    CHECK(shared_client->failing_streak == total / 2);  // every push failed: the streak only grows
    std::uint64_t client_requests = 0;
    for (const auto& c : st.list_clients({}, {500, ""}, {}).items) client_requests += c.requests;
    CHECK(client_requests == total);

    PoisonQuery pq;
    auto poison = st.poison_mutations(pq, {});
    REQUIRE(poison.size() == 1);
    CHECK(poison[0].mutation_id == "poison-1");
    CHECK(poison[0].attempts == total);
    CHECK(poison[0].failing_streak == total);

    ConflictPatternQuery cq;
    cq.from_us = t0 - H;
    cq.to_us = t0 + 3 * D;
    auto patterns = st.conflict_patterns(cq);
    CHECK(patterns.total == total);
    REQUIRE(patterns.top_entities.size() == 1);
    CHECK(patterns.top_entities[0].conflicts == total);
    REQUIRE(patterns.top_fields.size() == 1);
    CHECK(patterns.top_fields[0].conflicts == total);

    CHECK(partition_days(schema).size() == 3);
}

TEST_CASE("postgres storage: requests live in day partitions that prune drops whole", "[postgres]") {
    PgSchema schema;
    auto st = open_postgres_storage(schema.options());
    // Five requests on day 0, three on day 1 (two after noon), two on day 2.
    long n = 0;
    auto write_day = [&](Micros day_start, std::vector<Micros> offsets) {
        std::vector<CapturedRequest> batch;
        for (auto off : offsets) batch.push_back(push(++n, day_start + off, "c1", "i0"));
        st->write_batch(batch);
    };
    write_day(DAY0, {H, 2 * H, 3 * H, 4 * H, 23 * H});
    write_day(DAY0 + D, {H, 13 * H, 14 * H});
    write_day(DAY0 + 2 * D, {H, 2 * H});
    REQUIRE(st->count_requests() == 10);
    CHECK(partition_days(schema) == std::vector<std::string>{"requests_d20782", "requests_d20783", "requests_d20784"});
    for (const char* table : {"mutations", "request_models", "failures"})
        CHECK(
            schema
                .exec(std::string("SELECT count(*) FROM pg_inherits WHERE inhparent = '") + table + "'::regclass")[0][0]
                .as<int>() == 3);

    RetentionPolicy p;
    p.max_age_us = D + 12 * H;
    const Micros now = DAY0 + 2 * D + 18 * H;  // cutoff: day 1, 06:00

    SECTION("a day that ended before the cutoff goes at once, whatever the budget") {
        // Day 0 is dropped as a whole: its five requests, though the budget is 2. Day 1
        // straddles the cutoff: its row before 06:00 is deleted the usual way, in a later call
        // (the drop used up the budget).
        CHECK(st->prune(p, now, 2) == 5);
        CHECK(partition_days(schema) == std::vector<std::string>{"requests_d20783", "requests_d20784"});
        for (const char* table : {"mutations", "request_models", "failures"})
            CHECK(schema
                      .exec(std::string("SELECT count(*) FROM pg_inherits WHERE inhparent = '") + table +
                            "'::regclass")[0][0]
                      .as<int>() == 2);
        CHECK(st->count_requests() == 5);
        CHECK(st->count_mutations() == 10);
        CHECK_FALSE(st->get_request(make_id('R', 1)));
        CHECK_FALSE(st->get_mutation(make_id('M', 10)));
        CHECK(st->prune(p, now, 2) == 1);
        CHECK(st->prune(p, now, 2) == 0);
        CHECK_FALSE(st->get_request(make_id('R', 6)));
        CHECK(st->get_request(make_id('R', 7)));
        CHECK(partition_days(schema).size() == 2);  // day 1 stays: rows after the cutoff
        CHECK(st->count_requests() == 4);
        CHECK(st->count_mutations() == 8);
        CHECK(st->list_failures({}, {500, ""}).items.size() == 4);
        CHECK(schema.exec("SELECT count(*) FROM request_models")[0][0].as<int>() == 4);

        // A dropped day can be written again: its partitions come back.
        st->write_batch({push(1, DAY0 + H, "c1", "i0")});
        CHECK(partition_days(schema).size() == 3);
        CHECK(st->count_requests() == 5);
    }
    SECTION("with a budget to spare, the rows straddling the cutoff go in the same call") {
        CHECK(st->prune(p, now, 100) == 6);
        CHECK(st->count_requests() == 4);
    }
    SECTION("max_requests deletes rows oldest first; the next call drops the day it emptied") {
        RetentionPolicy keep;
        keep.max_requests = 4;
        CHECK(st->prune(keep, now, 100) == 6);
        CHECK(partition_days(schema).size() == 3);
        CHECK(st->count_requests() == 4);
        CHECK_FALSE(st->get_request(make_id('R', 6)));
        CHECK(st->get_request(make_id('R', 7)));
        CHECK(st->prune(keep, now, 100) == 0);
        CHECK(partition_days(schema) == std::vector<std::string>{"requests_d20783", "requests_d20784"});
        CHECK(st->count_requests() == 4);
        CHECK(st->count_mutations() == 8);
    }
}

TEST_CASE("postgres storage: a write into a day another process dropped is retried into a new partition",
          "[postgres]") {
    PgSchema schema;
    auto a = open_postgres_storage(schema.options());
    auto b = open_postgres_storage(schema.options());
    a->write_batch({push(1, DAY0 + H, "c1", "i0")});  // a now knows day 0's partitions
    RetentionPolicy p;
    p.max_age_us = H;
    CHECK(b->prune(p, DAY0 + 2 * D, 10) == 1);  // b drops day 0 under a's feet
    auto e = storage_error_of([&] { a->write_batch({push(2, DAY0 + 2 * H, "c1", "i0")}); });
    CHECK(e.transient());                                 // the recorder retries …
    a->write_batch({push(2, DAY0 + 2 * H, "c1", "i0")});  // … and the retry creates the day again
    CHECK(a->get_request(make_id('R', 2)));
    CHECK(a->count_requests() == 1);
}

TEST_CASE("postgres storage: a dropped connection fails one write transiently, the next reconnects; reads retry at once",
          "[postgres]") {
    PgSchema schema;
    auto st = open_postgres_storage(schema.options());
    st->write_batch({push(1, DAY0 + H, "c1", "i0")});
    REQUIRE(st->count_requests() == 1);

    CHECK(schema.kill_connections() == 2);  // the writer and the reader
    auto e = storage_error_of([&] { st->write_batch({push(2, DAY0 + 2 * H, "c1", "i0")}); });
    CHECK(e.transient());
    CHECK(std::string(e.what()).find("postgres: write_batch: ") == 0);
    st->write_batch({push(2, DAY0 + 2 * H, "c1", "i0")});  // the recorder's retry: nothing was half written
    // Reads are repeated once on a fresh connection: a dashboard never answers 503 for a
    // restart the database went through while it was idle.
    CHECK(st->count_requests() == 2);
    CHECK(st->get_request(make_id('R', 2)));

    // Writes (retention too) fail once, transiently, and the next call reconnects.
    REQUIRE(schema.kill_connections() >= 1);
    auto k = storage_error_of([&] { st->prune_rollups(DAY0); });
    CHECK(k.transient());
    CHECK_NOTHROW(st->prune_rollups(DAY0));
    // Every read entry point retries, reads of one snapshot included.
    for (const std::function<void()>& call : std::vector<std::function<void()>>{
             [&] { st->failure_groups(FailureGroupQuery{}, {}); }, [&] { st->list_requests({}, {}); },
             [&] { st->count_requests(); }}) {
        REQUIRE(schema.kill_connections() >= 1);
        CHECK_NOTHROW(call());
    }
}

TEST_CASE("postgres storage: the password shows nowhere", "[postgres]") {
    PgSchema schema;
    const auto url = test::postgres_test_url();
    const std::string password = password_of(url);
    REQUIRE(password.size() >= 4);
    auto st = open_postgres_storage(schema.options());
    const auto text = st->describe();
    CHECK(text.find(password) == std::string::npos);
    CHECK(text.rfind("postgresql://", 0) == 0);
    CHECK(text.find("(schema " + schema.name() + ")") != std::string::npos);
    INFO(text);

    auto with_password = [&](const std::string& pw) {
        PostgresOptions o = schema.options();
        o.url = url;
        o.url.replace(o.url.find(password), password.size(), pw);
        return o;
    };
    // A wrong password: refused by the server, and not repeated in the message.
    const std::string wrong = "Wr0ng-" + password;
    auto refused = storage_error_of([&] { open_postgres_storage(with_password(wrong)); });
    CHECK(std::string(refused.what()).find(wrong) == std::string::npos);
    CHECK(std::string(refused.what()).find("postgres: open: ") == 0);
    // A password libpq cannot even parse (a bad percent escape): neither form shows.
    auto unparsable = storage_error_of([&] { open_postgres_storage(with_password("s%ZZ3cr3t")); });
    CHECK_FALSE(unparsable.transient());
    CHECK(std::string(unparsable.what()).find("s%ZZ3cr3t") == std::string::npos);
    CHECK(std::string(unparsable.what()).find("ZZ3cr3t") == std::string::npos);
    // The key=value form, nobody listening.
    PostgresOptions kv = schema.options();
    kv.url = "host=127.0.0.1 port=1 user=nobody dbname=nothing password='S3cr3t pass'";
    kv.connect_timeout = std::chrono::milliseconds(2000);
    auto unreachable = storage_error_of([&] { open_postgres_storage(kv); });
    CHECK(unreachable.transient());
    CHECK(std::string(unreachable.what()).find("S3cr3t") == std::string::npos);
}

TEST_CASE("postgres storage: schema versions", "[postgres]") {
    PgSchema schema;
    REQUIRE(postgres_schema_version() >= 1);
    { open_postgres_storage(schema.options())->write_batch({push(1, DAY0, "c1", "i0")}); }
    auto versions = [&] { return schema.exec("SELECT count(*), max(version) FROM schema_version")[0]; };
    CHECK(versions()[0].as<int>() == postgres_schema_version());

    SECTION("reopening keeps the data and migrates nothing") {
        auto st = open_postgres_storage(schema.options());
        CHECK(st->count_requests() == 1);
        CHECK(versions()[0].as<int>() == postgres_schema_version());
        CHECK(versions()[1].as<int>() == postgres_schema_version());
    }
    SECTION("a schema written by a newer version is refused") {
        const int newer = postgres_schema_version() + 1;
        schema.exec("INSERT INTO schema_version (version, applied_at) VALUES (" + std::to_string(newer) + ", 0)");
        auto e = storage_error_of([&] { open_postgres_storage(schema.options()); });
        CHECK_FALSE(e.transient());
        CHECK(std::string(e.what()).find("schema version " + std::to_string(newer)) != std::string::npos);
        CHECK(std::string(e.what()).find(password_of(test::postgres_test_url())) == std::string::npos);
    }
    SECTION("schema names are plain identifiers") {
        for (const char* bad : {"", "Tether", "1st", "pg_tether", "a-b", "x; DROP TABLE t", "\xC3\xA9t\xC3\xA9"}) {
            INFO(bad);
            PostgresOptions o = schema.options();
            o.schema = bad;
            CHECK_THROWS_AS(open_postgres_storage(o), InvalidArgument);
        }
    }
}

TEST_CASE("postgres storage: open_storage opens postgresql:// and postgres:// URLs", "[postgres]") {
    CHECK(storage_backends_built().find("postgresql") != std::string::npos);
    PgSchema schema("tether");  // dropped at the end, like any test schema
    StorageConfig config;
    config.url = test::postgres_test_url();
    auto st = open_storage(config);  // schema "tether"
    CHECK(st->describe().find("(schema tether)") != std::string::npos);
    config.url.replace(0, config.url.find("://"), "postgres");
    CHECK(open_storage(config)->describe() == st->describe());
}

TEST_CASE("postgres storage: batches larger than one statement's parameters", "[postgres]") {
    PgSchema schema;
    auto st = open_postgres_storage(schema.options());
    std::vector<CapturedRequest> batch;
    for (long n = 0; n < 1500; ++n) batch.push_back(push(n, DAY0 + n, "c" + std::to_string(n % 7), "i0"));
    st->write_batch(batch);
    CHECK(st->count_requests() == 1500);
    CHECK(st->count_mutations() == 3000);
    RequestFilter f;
    f.model = "Task";
    CHECK(st->list_requests(f, {500, ""}).items.size() == 500);
    FailureGroupQuery q;
    q.now_us = DAY0 + H;
    CHECK(st->failure_groups(q, {}).at(0).count == 1500);
}
