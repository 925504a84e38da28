// Conflicts end to end: recorded from the response (last-write-wins) and from host traces
// (a custom resolver that merged and applied), queried with filters, patterns and JSON.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "support/protocol.hpp"
#include "support/backends.hpp"
#include "support/temp_dir.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;
using namespace std::chrono_literals;

namespace {

const Micros t0 = 1'795'600'800'000'000;  // a whole hour

test::TestMutation note(std::uint64_t n, std::string body) {
    test::TestMutation m;
    m.mutation_id = test::test_ulid(n, 'M');
    m.entity_id = test::test_ulid(n % 3, 'E');  // three entities, conflicting repeatedly
    m.model = "Note";
    m.payload_json = R"({"body":")" + body + R"(","title":"Groceries"})";
    return m;
}

// A last-write-wins rejection reported in the response body only.
Exchange lww_conflict(std::uint64_t n, const std::string& client, Micros at) {
    auto m = note(n, "client text");
    m.model = "Task";
    Exchange ex;
    ex.started_at_us = at;
    ex.client_version = "2.4.0";
    ex.request_body = test::push_request(client, {m});
    ex.response_body = test::push_response({}, {}, {{m.mutation_id, R"({"body":"server text","title":"Groceries"})"}});
    return ex;
}

// A conflict a custom resolver merged: the response says applied, the host trace says conflict.
Exchange merged_conflict(std::uint64_t n, const std::string& client, Micros at) {
    auto m = note(n, "client text");
    Exchange ex;
    ex.started_at_us = at;
    ex.client_version = "3.0.0";
    ex.request_body = test::push_request(client, {m});
    ex.response_body = test::push_response({m.mutation_id});
    ex.traces.push_back({m.mutation_id, R"({"body":"server text","title":"Groceries"})",
                         R"({"body":"client text\nserver text","title":"Groceries"})",
                         ConflictTrace{"note_field_merge", Resolution::merged, R"({"body":"server text","title":"Groceries"})",
                                       "client timestamp older than updated_at"}});
    return ex;
}

template <class Backend>
void run() {
    test::TempDir dir;
    auto storage = Backend::open(dir);
    auto obs = Observer::builder().storage(storage).build();
    for (std::uint64_t i = 0; i < 6; ++i) obs->recorder().record(lww_conflict(i, i % 2 ? "c-a" : "c-b", t0 + static_cast<Micros>(i) * 1000));
    for (std::uint64_t i = 6; i < 10; ++i) obs->recorder().record(merged_conflict(i, "c-a", t0 + one_hour_us + static_cast<Micros>(i)));
    obs->recorder().record(test::sample_push("c-clean", 3, 99));  // no conflicts at all
    REQUIRE(obs->recorder().flush(10s));

    auto conflicts = obs->conflicts();
    auto all = conflicts.list({}, {50, ""});
    REQUIRE(all.items.size() == 10);
    const auto& newest = all.items.front();  // a merged one
    CHECK(newest.model == "Note");
    CHECK(newest.resolver == "note_field_merge");
    CHECK(newest.resolution == Resolution::merged);
    CHECK(newest.outcome == MutationOutcome::applied);  // still a conflict
    CHECK(newest.client_version == "3.0.0");
    CHECK(newest.reported_by_host);
    CHECK(newest.state_before_json == R"({"body":"server text","title":"Groceries"})");
    CHECK(newest.server_state_json == R"({"body":"server text","title":"Groceries"})");
    REQUIRE(newest.fields.size() == 1);  // the title agrees; only the body differs
    CHECK(newest.fields[0].path == "/body");
    CHECK(newest.fields[0].from == R"("server text")");
    CHECK(newest.fields[0].to == R"("client text")");

    const auto& oldest = all.items.back();  // a last-write-wins one
    CHECK(oldest.model == "Task");
    CHECK(oldest.outcome == MutationOutcome::conflict);
    CHECK(oldest.resolver.empty());
    CHECK(oldest.reported_in_response);
    CHECK(oldest.reason == "conflict");

    ConflictFilter merged;
    merged.resolution = Resolution::merged;
    CHECK(conflicts.list(merged, {50, ""}).items.size() == 4);
    ConflictFilter by_client;
    by_client.client_id = "c-b";
    CHECK(conflicts.list(by_client, {50, ""}).items.size() == 3);
    ConflictFilter by_resolver;
    by_resolver.resolver = "note_field_merge";
    by_resolver.client_id = "c-a";
    CHECK(conflicts.list(by_resolver, {50, ""}).items.size() == 4);

    auto got = conflicts.get(newest.id);
    REQUIRE(got);
    CHECK(got->mutation_id == newest.mutation_id);

    ConflictPatternQuery q;
    q.from_us = t0;
    q.to_us = t0 + 2 * one_hour_us;
    auto p = conflicts.patterns(q);
    CHECK(p.total == 10);
    REQUIRE(p.by_model.size() == 2);
    CHECK(p.by_model[0].model == "Task");
    CHECK(p.by_model[0].conflicts == 6);
    REQUIRE(p.by_client.size() == 2);
    CHECK(p.by_client[0].client_id == "c-a");
    CHECK(p.by_client[0].conflicts == 7);
    REQUIRE(p.by_bucket.size() == 2);
    CHECK(p.by_bucket[0].conflicts == 6);
    CHECK(p.by_bucket[1].conflicts == 4);
    REQUIRE_FALSE(p.top_fields.empty());
    CHECK(p.top_fields[0].field == "/body");
    CHECK(p.top_fields[0].conflicts == 6);  // Task rows: the body differs in every one

    auto json = boost::json::parse(to_json(newest)).as_object();
    CHECK(json["resolution"] == "merged");
    CHECK(json["outcome"] == "applied");
    CHECK(json["payload"].as_object()["body"] == "client text");
    CHECK(json["fields"].as_array()[0].as_object()["from"] == "server text");
    auto page = boost::json::parse(to_json(all)).as_object();
    CHECK(page["items"].as_array().size() == 10);
    CHECK(page["next_cursor"].is_null());
    auto patterns = boost::json::parse(to_json(p)).as_object();
    CHECK(patterns["total"] == 10);
    CHECK(patterns["by_model_client"].as_array().size() == 3);
}

}  // namespace

TEST_CASE("conflicts e2e: last-write-wins and merged conflicts, filters, patterns, JSON (memory)", "[conflicts][e2e]") {
    run<test::MemoryBackend>();
}

#ifdef TETHER_HAVE_SQLITE
TEST_CASE("conflicts e2e: last-write-wins and merged conflicts, filters, patterns, JSON (sqlite)", "[conflicts][e2e]") {
    run<test::SqliteFileBackend>();
}
#endif
