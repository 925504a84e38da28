// Failures end to end: real push bodies through the Recorder's pipeline into failure rows,
// groups (a broken client version that systematically fails one model), request-level
// failures, a stuck client, a poison mutation, and the JSON the dashboard serves.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <set>

#include "support/backends.hpp"
#include "support/protocol.hpp"
#include "support/temp_dir.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

using namespace tether;
using namespace std::chrono_literals;

namespace {

const Micros t0 = 1'795'600'800'000'000;  // a whole hour

// A Project without a name, rejected the way a Laravel-style validator words it.
Exchange broken_project(std::uint64_t n, const std::string& client, const std::string& version, Micros at,
                        std::string mutation_id = {}) {
    test::TestMutation m;
    m.mutation_id = mutation_id.empty() ? test::test_ulid(n, 'M') : std::move(mutation_id);
    m.entity_id = test::test_ulid(n, 'E');
    m.model = "Project";
    m.operation = "create";
    m.payload_json = R"({"color":"#ff0000","api_token":"tok-secret-123"})";
    Exchange ex;
    ex.started_at_us = at;
    ex.client_version = version;
    ex.request_body = test::push_request(client, {m});
    ex.response_body = test::push_response(
        {}, {{m.mutation_id, "validation_failed", R"({"messages":{"name":["The name field is required."]}})"}});
    return ex;
}

Exchange good_project(std::uint64_t n, const std::string& client, Micros at) {
    test::TestMutation m;
    m.mutation_id = test::test_ulid(n, 'M');
    m.entity_id = test::test_ulid(n, 'E');
    m.model = "Project";
    m.payload_json = R"({"name":"Home"})";
    Exchange ex;
    ex.started_at_us = at;
    ex.client_version = "1.9.0";
    ex.request_body = test::push_request(client, {m});
    ex.response_body = test::push_response({m.mutation_id});
    return ex;
}

template <class Backend>
void run() {
    test::TempDir dir;
    auto storage = Backend::open(dir);
    auto clock = std::make_shared<ManualClock>(t0 + 50 * 60'000'000LL);
    auto obs = Observer::builder().storage(storage).clock(clock).build();
    auto& rec = obs->recorder();
    // The broken 2.0.0-beta.3 client fails every Project push, re-pushing one mutation again and again.
    for (std::uint64_t i = 0; i < 6; ++i)
        rec.record(broken_project(i, "c-beta", "2.0.0-beta.3", t0 + static_cast<Micros>(i) * 60'000'000,
                                  i >= 3 ? test::test_ulid(999, 'M') : std::string()));
    // A healthy client fails once in five.
    for (std::uint64_t i = 10; i < 15; ++i)
        rec.record(i == 10 ? broken_project(i, "c-good", "1.9.0", t0 + static_cast<Micros>(i) * 60'000'000)
                           : good_project(i, "c-good", t0 + static_cast<Micros>(i) * 60'000'000));
    // Request-level failures: a body that is not JSON, a push without client_id, a 500.
    Exchange garbage;
    garbage.started_at_us = t0 + 20 * 60'000'000LL;
    garbage.client_id = "c-good";
    garbage.http_status = 400;
    garbage.request_body = R"({"client_id": "c-good", "mutations": [)";
    garbage.response_body = R"({"error":"bad_request"})";
    rec.record(std::move(garbage));
    Exchange anonymous;
    anonymous.started_at_us = t0 + 21 * 60'000'000LL;
    anonymous.request_body = R"({"mutations": []})";
    anonymous.response_body = test::push_response({});
    rec.record(std::move(anonymous));
    Exchange crash = test::sample_push("c-good", 2, 5);
    crash.started_at_us = t0 + 22 * 60'000'000LL;
    crash.http_status = 500;
    crash.response_body = R"({"error":"internal"})";
    rec.record(std::move(crash));
    REQUIRE(rec.flush(10s));

    auto failures = obs->failures();
    auto groups = failures.groups({});
    REQUIRE(groups.size() == 4);
    const auto& g = groups[0];
    CHECK(g.model == "Project");
    CHECK(g.reason == "validation_failed");
    CHECK(g.fields == std::vector<std::string>{"name"});
    CHECK(g.count == 7);
    CHECK(g.clients == 2);
    CHECK(g.systematic);
    CHECK(g.systematic_clients == std::vector<std::string>{"c-beta"});
    CHECK(g.explanation.find("client c-beta failed 6 of its 6 Project mutations (100%)") != std::string::npos);
    std::set<std::string> reasons;
    for (const auto& x : groups) reasons.insert(x.reason);
    CHECK(reasons == std::set<std::string>{"validation_failed", "invalid_request_body", "protocol_error", "http_500"});

    FailureFilter of_group;
    of_group.fingerprint = g.fingerprint;
    auto rows = failures.list(of_group, {50, ""});
    REQUIRE(rows.items.size() == 7);
    const auto& newest = rows.items[0];
    CHECK(newest.client_id == "c-good");
    CHECK(newest.client_version == "1.9.0");
    CHECK(newest.message == "name: The name field is required.");
    auto row = obs->storage().get_mutation(newest.id);  // the drill-down: the stored mutation
    REQUIRE(row);
    CHECK(row->payload_json.find("tok-secret-123") == std::string::npos);

    // c-beta's last three pushes failed: stuck; c-beta never synced successfully.
    auto beta = failures.client("c-beta");
    REQUIRE(beta);
    CHECK(beta->stuck);
    CHECK(beta->failing_streak == 6);
    CHECK_FALSE(beta->last_success_us);
    CHECK(beta->client_version == "2.0.0-beta.3");
    auto good = failures.client("c-good");
    REQUIRE(good);
    CHECK_FALSE(good->stuck);  // ok, ok, ok, ok, then the broken body and the 500: two bad pushes
    CHECK(good->failing_streak == 2);
    CHECK(good->last_push_success_us == t0 + 14 * 60'000'000LL);

    auto poison = failures.poison({});
    REQUIRE(poison.size() == 1);
    CHECK(poison[0].mutation_id == test::test_ulid(999, 'M'));
    CHECK(poison[0].failing_streak == 3);
    CHECK(poison[0].last_reason == "validation_failed");

    // The JSON the dashboard and the command-line tool share.
    auto gj = boost::json::parse(to_json(groups)).as_object()["items"].as_array()[0].as_object();
    for (const char* key : {"fingerprint", "model", "reason", "fields", "count", "first_seen", "last_seen", "clients",
                            "systematic", "explanation", "sample_mutation_ids", "trend", "top_clients"})
        CHECK(gj.contains(key));
    CHECK(gj["systematic"] == true);
    CHECK(gj["count"] == 7);
    CHECK(gj["trend"].as_object()["last_hour"] == 7);
    CHECK(gj["sample_mutation_ids"].as_array().size() == 5);
    auto one = failures.group(g.fingerprint);
    REQUIRE(one);
    auto oj = boost::json::parse(to_json(*one)).as_object();
    CHECK(oj["buckets"].as_array().size() == 24);
    auto fj = boost::json::parse(to_json(rows)).as_object();
    CHECK(fj["items"].as_array()[0].as_object()["messages"].as_object()["name"].as_array()[0] ==
          "The name field is required.");
    CHECK(fj["items"].as_array()[0].as_object()["mutation_row_id"] == boost::json::value(newest.id));
    auto cj = boost::json::parse(to_json(*beta, failures.client_models("c-beta"), failures.poison({"c-beta", 50})))
                  .as_object();
    CHECK(cj["stuck"] == true);
    CHECK(cj["last_success"].is_null());
    CHECK(cj["models"].as_array()[0].as_object()["failures"] == 6);
    CHECK(cj["poison"].as_array().size() == 1);
    auto lj = boost::json::parse(to_json(failures.clients({}, {50, ""}))).as_object();
    CHECK(lj["items"].as_array().size() == 2);  // the anonymous push is not a client
}

}  // namespace

TEST_CASE("failures e2e: systematic group, request failures, stuck client, poison, JSON (memory)",
          "[failures][e2e]") {
    run<test::MemoryBackend>();
}

#ifdef TETHER_HAVE_SQLITE
TEST_CASE("failures e2e: systematic group, request failures, stuck client, poison, JSON (sqlite)",
          "[failures][e2e]") {
    run<test::SqliteFileBackend>();
}
#endif

TEST_CASE("failures: a large poison backlog is trimmed max_poison_trim_per_call at a time (sqlite)",
          "[failures][retention]") {
    test::TempDir dir;
    const std::string path = dir.file("poison.db");
    const std::int64_t rows = static_cast<std::int64_t>(max_poison_trim_per_call) + 10'000;
    open_sqlite_storage({path});  // creates the schema
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        SQLite::Transaction tx(db);
        SQLite::Statement insert(db,
                                 "INSERT INTO poison_candidates (mutation_id, client_id, model, entity_id, attempts, "
                                 "failures, failing_streak, last_reason, last_request_id, first_seen, last_seen) "
                                 "VALUES (?, 'c', 'Task', 'e', 1, 1, 1, 'validation_failed', 'r', ?, ?)");
        for (std::int64_t i = 0; i < rows; ++i) {
            insert.reset();
            insert.bind(1, "m-" + std::to_string(i));
            insert.bind(2, i);
            insert.bind(3, i);
            insert.exec();
        }
        tx.commit();
    }
    auto storage = open_sqlite_storage({path});
    auto count = [&] {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        return db.execAndGet("SELECT count(*) FROM poison_candidates").getInt64();
    };
    RetentionPolicy cap;
    cap.max_tracked_mutations = 5;
    storage->prune(cap, 0, 500);
    CHECK(count() == rows - static_cast<std::int64_t>(max_poison_trim_per_call));  // one short transaction's worth
    storage->prune(cap, 0, 500);
    CHECK(count() == 5);
    FailureThresholds any;
    any.poison_after_failures = 1;
    const auto kept = storage->poison_mutations({}, any);
    REQUIRE(kept.size() == 5);
    CHECK(kept.front().mutation_id == "m-" + std::to_string(rows - 1));  // the most recently seen stay
}
