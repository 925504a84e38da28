// Protocol parsing, redaction and classification of single exchanges (no threads).
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "pipeline.hpp"
#include "support/protocol.hpp"

using namespace tether;
namespace json = boost::json;
using tether::test::push_request;
using tether::test::push_response;
using tether::test::TestMutation;

namespace {

struct Fixture {
    ManualClock clock{1'732'500'000'000'000};
    UlidGenerator ids{clock, 7};
    KeyRedactor redactor;
    detail::PipelineOptions options;

    CapturedRequest run(Exchange ex) {
        detail::Pipeline p(redactor, ids, clock, options);
        return p.process(std::move(ex));
    }
};

TestMutation mutation(std::uint64_t n, std::string model = "Task", std::string payload = R"({"title":"A","done":false})") {
    TestMutation m;
    m.mutation_id = test::test_ulid(n, 'M');
    m.entity_id = test::test_ulid(n, 'E');
    m.model = std::move(model);
    m.payload_json = std::move(payload);
    m.version = static_cast<std::int64_t>(n);
    return m;
}

Exchange push(std::string req, std::string resp, int status = 200) {
    Exchange ex;
    ex.kind = ExchangeKind::push;
    ex.started_at_us = 1'732'500'000'000'000;
    ex.duration_us = 1500;
    ex.http_status = status;
    ex.request_body = std::move(req);
    ex.response_body = std::move(resp);
    return ex;
}

bool has_note(const RequestRecord& r, std::string_view path, std::string_view text, bool protocol_error) {
    for (const auto& n : r.notes)
        if (n.path == path && n.message.find(text) != std::string::npos && n.protocol_error == protocol_error)
            return true;
    return false;
}

}  // namespace

TEST_CASE("pipeline: a fully applied push", "[pipeline]") {
    Fixture f;
    auto a = mutation(1), b = mutation(2, "Note");
    auto ex = push(push_request("c-7f3a", {a, b}), push_response({a.mutation_id, b.mutation_id}));
    ex.headers.push_back({"X-Tether-Client-Version", "2.3.1"});
    std::string original_body = ex.request_body;
    auto out = f.run(std::move(ex));
    const auto& r = out.request;
    CHECK(is_valid_ulid(r.id));
    CHECK(r.kind == ExchangeKind::push);
    CHECK(r.client_id == "c-7f3a");
    CHECK(r.client_version == "2.3.1");
    CHECK(r.instance == "default");
    CHECK(r.outcome == RequestOutcome::ok);
    CHECK(r.mutation_count == 2);
    CHECK(r.applied == 2);
    CHECK(r.rejected == 0);
    CHECK(r.conflicts == 0);
    CHECK(r.models == std::vector<std::string>{"Note", "Task"});
    CHECK(r.request_body == original_body);  // nothing redacted: stored verbatim
    CHECK(r.notes.empty());
    REQUIRE(out.mutations.size() == 2);
    const auto& m = out.mutations[1];
    CHECK(m.seq == 1);
    CHECK(m.request_id == r.id);
    CHECK(m.mutation_id == b.mutation_id);
    CHECK(m.entity_id == b.entity_id);
    CHECK(m.model == "Note");
    CHECK(m.operation == "update");
    CHECK(m.version == 2);
    CHECK(m.client_timestamp_ms == 1732500000123);
    CHECK(m.payload_json == R"({"title":"A","done":false})");
    CHECK(m.outcome == MutationOutcome::applied);
    CHECK(m.client_id == "c-7f3a");
    CHECK(m.started_at_us == r.started_at_us);
}

TEST_CASE("pipeline: rejections with validation messages and response conflicts", "[pipeline]") {
    Fixture f;
    auto a = mutation(1), b = mutation(2), c = mutation(3);
    test::Rejection rej{b.mutation_id};
    test::Conflict con{c.mutation_id};
    auto out = f.run(push(push_request("c1", {a, b, c}), push_response({a.mutation_id}, {rej}, {con})));
    const auto& r = out.request;
    CHECK(r.outcome == RequestOutcome::rejected);  // a rejection outranks a conflict
    CHECK(r.failed());
    CHECK(r.applied == 1);
    CHECK(r.rejected == 1);
    CHECK(r.conflicts == 1);
    CHECK(out.mutations[1].outcome == MutationOutcome::rejected);
    CHECK(out.mutations[1].reason == "validation_failed");
    CHECK(out.mutations[1].validation_json == R"({"title":["The title field is required."]})");
    const auto& cm = out.mutations[2];
    CHECK(cm.outcome == MutationOutcome::conflict);
    REQUIRE(cm.conflict);
    CHECK(cm.conflict->reported_in_response);
    CHECK_FALSE(cm.conflict->reported_by_host);
    CHECK(cm.conflict->reason == "conflict");
    CHECK(cm.conflict->server_state_json == R"({"title":"Server title","done":true})");
    CHECK(cm.conflict->server_updated_at == "2026-11-24T10:00:00.000000Z");
    // Which fields disagree: the payload {"title":"A","done":false} against the server state.
    REQUIRE(cm.conflict->fields.size() == 2);
    CHECK(cm.conflict->fields[0].path == "/title");
    CHECK(cm.conflict->fields[0].from == R"("Server title")");
    CHECK(cm.conflict->fields[0].to == R"("A")");
    CHECK(cm.conflict->fields[1].path == "/done");
}

TEST_CASE("pipeline: a host-reported conflict that ends applied is still a conflict", "[pipeline]") {
    Fixture f;
    auto a = mutation(1, "Note", R"({"body":"client text","title":"T"})");
    auto ex = push(push_request("c1", {a}), push_response({a.mutation_id}));
    MutationTrace t;
    t.mutation_id = a.mutation_id;
    t.state_before_json = R"({"id":"x","body":"server text","title":"T","updated_at":"2026"})";
    t.state_after_json = R"({"id":"x","body":"client text\nserver text","title":"T","updated_at":"2027"})";
    t.conflict = ConflictTrace{"note_field_merge", Resolution::merged, R"({"body":"server text","title":"T"})",
                               "client timestamp older than updated_at", "2026-11-24T10:00:00.000000Z"};
    ex.traces.push_back(t);
    auto out = f.run(std::move(ex));
    const auto& m = out.mutations[0];
    CHECK(m.outcome == MutationOutcome::applied);
    REQUIRE(m.conflict);
    CHECK(m.conflict->server_updated_at == "2026-11-24T10:00:00.000000Z");  // the response did not say it
    CHECK(m.conflict->resolver == "note_field_merge");
    CHECK(m.conflict->resolution == Resolution::merged);
    CHECK(m.conflict->reported_by_host);
    CHECK(m.conflict->reason == "client timestamp older than updated_at");
    CHECK(out.request.conflicts == 1);
    CHECK(out.request.applied == 1);
    CHECK(out.request.outcome == RequestOutcome::conflict);
    // Payload vs before: only fields the client sent, and only those that differ.
    REQUIRE(m.payload_diff.size() == 1);
    CHECK(m.payload_diff[0].path == "/body");
    CHECK(m.payload_diff[0].op == ChangeOp::changed);
    CHECK(m.payload_diff[0].from == R"("server text")");
    // Before -> after: body and updated_at changed.
    REQUIRE(m.change_diff.size() == 2);
    CHECK(m.change_diff[0].path == "/body");
    CHECK(m.change_diff[1].path == "/updated_at");
}

TEST_CASE("pipeline: a conflict reported only by the host with server_wins", "[pipeline]") {
    Fixture f;
    auto a = mutation(1);
    auto ex = push(push_request("c1", {a}), R"({"applied":[],"rejected":[],"conflicts":[]})");
    MutationTrace t;
    t.mutation_id = a.mutation_id;
    t.conflict = ConflictTrace{"last_write_wins", Resolution::server_wins, R"({"title":"S"})", ""};
    ex.traces.push_back(t);
    auto out = f.run(std::move(ex));
    CHECK(out.mutations[0].outcome == MutationOutcome::conflict);
    CHECK(out.request.outcome == RequestOutcome::conflict);
}

TEST_CASE("pipeline: creates and deletes diff against null states", "[pipeline]") {
    Fixture f;
    auto a = mutation(1, "Task", R"({"title":"New"})");
    a.operation = "create";
    auto ex = push(push_request("c1", {a}), push_response({a.mutation_id}));
    ex.traces.push_back({a.mutation_id, "null", R"({"title":"New"})", std::nullopt});
    auto out = f.run(std::move(ex));
    const auto& m = out.mutations[0];
    CHECK(m.state_before_json == "null");
    REQUIRE(m.change_diff.size() == 1);
    CHECK(m.change_diff[0].op == ChangeOp::added);
    CHECK(m.change_diff[0].path == "/title");
}

TEST_CASE("pipeline: secrets are redacted everywhere and their paths recorded", "[pipeline][redaction]") {
    Fixture f;
    auto a = mutation(1, "User", R"({"name":"ann","password":"hunter2-SECRET","nested":{"api_key":"k-SECRET"}})");
    auto ex = push(push_request("c1", {a}), push_response({a.mutation_id}));
    ex.headers.push_back({"Authorization", "Bearer tok-SECRET"});
    ex.headers.push_back({"Content-Type", "application/json"});
    ex.traces.push_back({a.mutation_id, R"({"name":"ann","password":"old-SECRET"})",
                         R"({"name":"ann","password":"new-SECRET"})",
                         ConflictTrace{"lww", Resolution::server_wins, R"({"token":"srv-SECRET"})", ""}});
    auto out = f.run(std::move(ex));
    const auto& r = out.request;
    const auto& m = out.mutations[0];
    for (const auto* text : {&r.request_body, &r.response_body, &m.payload_json, &m.state_before_json,
                             &m.state_after_json, &m.conflict->server_state_json}) {
        CHECK(text->find("SECRET") == std::string::npos);
    }
    for (const auto& h : r.headers) CHECK(h.value.find("SECRET") == std::string::npos);
    for (const auto& c : m.change_diff) {
        CHECK(c.from.find("SECRET") == std::string::npos);
        CHECK(c.to.find("SECRET") == std::string::npos);
    }
    CHECK(m.payload_redacted);
    CHECK(r.request_body.find("[REDACTED]") != std::string::npos);
    auto has = [&](const std::string& p) {
        return std::find(r.redacted_paths.begin(), r.redacted_paths.end(), p) != r.redacted_paths.end();
    };
    CHECK(has("request:/mutations/0/payload/password"));
    CHECK(has("request:/mutations/0/payload/nested/api_key"));
    CHECK(has("header:Authorization"));
    CHECK(has("mutation:0:before:/password"));
    CHECK(has("mutation:0:after:/password"));
    CHECK(has("mutation:0:server_state:/token"));
    CHECK(r.headers[1].value == "application/json");
}

TEST_CASE("pipeline: invalid JSON is kept scrubbed, flagged with position, outcome error", "[pipeline]") {
    Fixture f;
    auto ex = push("{\"client_id\": \"c1\",\n \"password\": \"p-SECRET\", \"mutations\": [", "");
    auto out = f.run(std::move(ex));
    const auto& r = out.request;
    CHECK(r.outcome == RequestOutcome::error);
    REQUIRE(r.request_parse_error);
    CHECK(r.request_parse_error->line == 2);
    CHECK(r.request_parse_error->offset > 0);
    CHECK(r.request_body_scrubbed);
    CHECK_FALSE(r.request_body_dropped);
    CHECK(r.request_body.find("p-SECRET") == std::string::npos);
    CHECK(r.request_body.find("\"client_id\": \"c1\"") != std::string::npos);
    CHECK(r.client_id == "c1");  // recovered from the text
    CHECK(has_note(r, "/client_id", "recovered from the invalid body", false));
    CHECK(out.mutations.empty());

    auto empty = f.run(push("", ""));
    REQUIRE(empty.request.request_parse_error);
    CHECK(empty.request.request_parse_error->message == "empty body; expected a JSON object");
    CHECK_FALSE(empty.request.response_parse_error);
    CHECK(empty.request.outcome == RequestOutcome::error);

    f.options.invalid_body = InvalidBodyPolicy::drop;
    auto dropped = f.run(push("{not json password=x", ""));
    CHECK(dropped.request.request_body_dropped);
    CHECK(dropped.request.request_body.empty());
    CHECK(dropped.request.request_parse_error);
}

TEST_CASE("pipeline: protocol errors and tolerated irregularities become notes", "[pipeline]") {
    Fixture f;
    SECTION("missing client_id and a mutation without model") {
        auto out = f.run(push(R"({"mutations":[{"mutation_id":"m1","entity_id":"e1","operation":"update","payload":{}}]})",
                              R"({"applied":["m1"]})"));
        CHECK(out.request.outcome == RequestOutcome::error);
        CHECK(has_note(out.request, "/client_id", "missing; expected a string", true));
        CHECK(has_note(out.request, "/mutations/0/model", "missing", true));
        CHECK(out.mutations.size() == 1);
        CHECK(out.mutations[0].outcome == MutationOutcome::applied);
    }
    SECTION("wrong types") {
        auto out = f.run(push(
            R"({"client_id":"c","mutations":[{"mutation_id":"m1","entity_id":"e","model":"Task","operation":"upsert","payload":"x","version":"3","timestamp":1.5}, 7]})",
            R"({"applied":"m1","rejected":[{"reason":"x"}],"conflicts":[{"mutation_id":"zzz"}]})"));
        const auto& r = out.request;
        CHECK(has_note(r, "/mutations/0/operation", "unknown operation \"upsert\"", false));
        CHECK(has_note(r, "/mutations/0/payload", "expected an object, got string", false));
        CHECK(has_note(r, "/mutations/0/version", "expected an integer, got string", false));
        CHECK(has_note(r, "/mutations/0/timestamp", "expected an integer, got number", false));
        CHECK(has_note(r, "/mutations/1", "expected a mutation object, got number", true));
        CHECK(has_note(r, "/applied", "expected an array, got string", false));
        CHECK(has_note(r, "/rejected/0", "expected a mutation_id", false));
        CHECK(has_note(r, "/conflicts/0", "\"zzz\" was not in the request", false));
        CHECK(r.outcome == RequestOutcome::error);
        CHECK(out.mutations[0].outcome == MutationOutcome::unknown);
    }
    SECTION("mutations is not an array; body not an object") {
        auto out = f.run(push(R"({"client_id":"c","mutations":{}})", ""));
        CHECK(has_note(out.request, "/mutations", "expected an array, got object", true));
        auto arr = f.run(push("[]", ""));
        CHECK(has_note(arr.request, "", "expected a JSON object, got array", true));
        CHECK_FALSE(arr.request.request_parse_error);
    }
    SECTION("unknown trace and invalid trace JSON") {
        auto a = mutation(1);
        auto ex = push(push_request("c", {a}), push_response({a.mutation_id}));
        ex.traces.push_back({"nope", "{}", "{}", std::nullopt});
        ex.traces.push_back({a.mutation_id, "{broken", "", std::nullopt});
        auto out = f.run(std::move(ex));
        CHECK(has_note(out.request, "/traces/0", "\"nope\" was not in the request", false));
        CHECK(has_note(out.request, "mutation:0:before", "invalid", false));
        CHECK(out.mutations[0].state_before_json.empty());
        CHECK(out.request.outcome == RequestOutcome::ok);
    }
}

TEST_CASE("pipeline: HTTP errors and truncated bodies", "[pipeline]") {
    Fixture f;
    auto a = mutation(1);
    auto out = f.run(push(push_request("c", {a}), R"({"error":"server_error","message":"boom"})", 500));
    CHECK(out.request.outcome == RequestOutcome::error);
    CHECK(out.request.http_status == 500);
    CHECK(out.request.notes.empty());
    CHECK(out.mutations[0].outcome == MutationOutcome::unknown);

    auto ex = push(R"({"client_id":"c","mutations":[{"mutation_id":"m","pass)", "");
    ex.request_truncated = true;
    auto t = f.run(std::move(ex));
    CHECK(t.request.request_truncated);
    REQUIRE(t.request.request_parse_error);
    CHECK_THAT(t.request.request_parse_error->message, Catch::Contains("truncated"));
}

TEST_CASE("pipeline: pulls", "[pipeline]") {
    Fixture f;
    Exchange ex;
    ex.kind = ExchangeKind::pull;
    ex.request_body = test::pull_request("c9", 1732500000123456, 100);
    ex.response_body = test::pull_response({"Task", "Note", "Task"}, 1732500000999999, true);
    auto out = f.run(std::move(ex));
    const auto& r = out.request;
    CHECK(r.kind == ExchangeKind::pull);
    CHECK(r.client_id == "c9");
    CHECK(r.last_sync_cursor == 1732500000123456);
    CHECK(r.pull_limit == 100);
    CHECK(r.snapshots == 3);
    CHECK(r.new_sync_cursor == 1732500000999999);
    CHECK(r.has_more == true);
    CHECK(r.models == std::vector<std::string>{"Note", "Task"});
    CHECK(r.outcome == RequestOutcome::ok);
    CHECK(out.mutations.empty());

    Exchange first;
    first.kind = ExchangeKind::pull;
    first.request_body = test::pull_request("c9", std::nullopt);
    first.response_body = R"({"snapshots":{},"new_sync_cursor":"x","has_more":1})";
    auto bad = f.run(std::move(first));
    CHECK_FALSE(bad.request.last_sync_cursor);
    CHECK(has_note(bad.request, "/snapshots", "expected an array", false));
    CHECK(has_note(bad.request, "/new_sync_cursor", "expected an integer", false));
    CHECK(has_note(bad.request, "/has_more", "expected a boolean", false));
}

TEST_CASE("pipeline: pull payloads are left out by default and kept (redacted) when asked", "[pipeline]") {
    const std::string response =
        R"({"snapshots":[{"entity_id":"e1","model":"Task","operation":"upsert","payload":{"title":"a","api_key":"k1"}},)"
        R"({"entity_id":"e2","model":"Note","operation":"delete"},)"
        R"({"entity_id":"e3","model":"Task","operation":"upsert","payload":null}],"new_sync_cursor":5,"has_more":false})";
    auto pull = [&] {
        Exchange ex;
        ex.kind = ExchangeKind::pull;
        ex.request_body = test::pull_request("c9", 1);
        ex.response_body = response;
        return ex;
    };

    Fixture index;  // the default
    auto out = index.run(pull());
    const auto stored = json::parse(out.request.response_body);
    const auto& snaps = stored.at("snapshots").as_array();
    REQUIRE(snaps.size() == 3);
    for (const auto& s : snaps) CHECK_FALSE(s.as_object().contains("payload"));
    CHECK(snaps[0].at("entity_id") == "e1");
    CHECK(snaps[1].at("operation") == "delete");
    CHECK(stored.at("new_sync_cursor") == 5);
    CHECK(out.request.snapshots == 3);
    CHECK(out.request.models == std::vector<std::string>{"Note", "Task"});
    CHECK(out.request.outcome == RequestOutcome::ok);
    CHECK(has_note(out.request, "/snapshots", "2 snapshot payload(s) not stored", false));
    CHECK(out.request.redacted_paths.empty());  // nothing secret left to redact
    CHECK(out.request.response_body.find("k1") == std::string::npos);

    Fixture full;
    full.options.keep_pull_payloads = true;
    auto kept = full.run(pull());
    const auto whole = json::parse(kept.request.response_body);
    CHECK(whole.at("snapshots").at(0).at("payload").at("title") == "a");
    CHECK(whole.at("snapshots").at(0).at("payload").at("api_key") == "[REDACTED]");
    CHECK(kept.request.redacted_paths == std::vector<std::string>{"response:/snapshots/0/payload/api_key"});
    CHECK(kept.request.notes.empty());

    // A push never loses its payloads, whatever the setting.
    auto a = mutation(1);
    auto pushed = index.run(push(push_request("c", {a}), push_response({a.mutation_id})));
    CHECK(pushed.request.request_body.find("\"payload\"") != std::string::npos);
}

TEST_CASE("pipeline: host-provided ids, instance and client id win over the body", "[pipeline]") {
    Fixture f;
    auto a = mutation(1);
    auto ex = push(push_request("from-body", {a}), push_response({a.mutation_id}));
    ex.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3A";
    ex.client_id = "from-host";
    ex.instance = "eu-2";
    ex.replay_of = "01JD3Z6Q8Y9V4K2M1N0P7R5S3B";
    auto out = f.run(std::move(ex));
    CHECK(out.request.id == "01JD3Z6Q8Y9V4K2M1N0P7R5S3A");
    CHECK(out.request.client_id == "from-host");
    CHECK(out.request.instance == "eu-2");
    CHECK(out.request.replay_of == "01JD3Z6Q8Y9V4K2M1N0P7R5S3B");
    CHECK(out.mutations[0].instance == "eu-2");

    auto bad = push(push_request("c", {a}), push_response({a.mutation_id}));
    bad.id = "not a ulid; DROP TABLE";
    auto fixed = f.run(std::move(bad));
    CHECK(is_valid_ulid(fixed.request.id));
    CHECK(has_note(fixed.request, "/id", "not a ULID", false));
}

TEST_CASE("pipeline: hostile bodies stay linear and bounded", "[pipeline]") {
    Fixture f;
    SECTION("one mutation_id repeated thousands of times") {
        std::vector<TestMutation> ms(4000, mutation(1));
        std::vector<std::string> applied(4001, ms[0].mutation_id);
        auto out = f.run(push(push_request("c", ms), push_response(applied)));
        CHECK(out.request.applied == 4000);
        CHECK(out.request.notes.size() == 1);  // the one surplus listing
        CHECK(has_note(out.request, "/applied/4000", "listed more often than it was pushed", false));
    }
    SECTION("notes are capped, the protocol error survives the cap") {
        std::string body = R"({"client_id":"c","mutations":[)";
        for (int i = 0; i < 1000; ++i) body += i ? ",{}" : "{}";
        body += "]}";
        auto out = f.run(push(body, ""));
        REQUIRE(out.request.notes.size() == 101);
        CHECK(out.request.notes.back().where == "recorder");
        CHECK_THAT(out.request.notes.back().message, Catch::Contains("more notes not stored"));
        CHECK(out.request.outcome == RequestOutcome::error);
        CHECK(out.mutations.size() == 1000);
    }
    SECTION("a request that did not parse does not flood notes about unknown response ids") {
        std::vector<std::string> ids;
        for (int i = 0; i < 50; ++i) ids.push_back(test::test_ulid(static_cast<std::uint64_t>(i), 'M'));
        auto out = f.run(push(R"({"client_id":"c","mutations":[{"mutation_id")", push_response(ids)));
        CHECK(out.request.request_parse_error);
        CHECK(out.request.notes.size() <= 1);  // at most the recovered client id
    }
}

TEST_CASE("pipeline: secrets inside string values (form fields, serialized JSON) are scrubbed too",
          "[pipeline][redaction]") {
    Fixture f;
    auto a = mutation(1, "Note",
                      R"({"title":"t","callback":"https://h/cb?token=cb-SECRET&x=1","raw":"{\"password\":\"pw-SECRET\"}"})");
    auto ex = push(push_request("c", {a}), push_response({a.mutation_id}));
    ex.traces.push_back({a.mutation_id, R"({"title":"t","raw":"api_key=old-SECRET"})", R"({"title":"t"})", std::nullopt});
    auto out = f.run(std::move(ex));
    const auto& r = out.request;
    const auto& m = out.mutations[0];
    for (const auto* text : {&r.request_body, &m.payload_json, &m.state_before_json}) {
        INFO(*text);
        CHECK(text->find("SECRET") == std::string::npos);
    }
    for (const auto& c : m.change_diff) {
        CHECK(c.from.find("SECRET") == std::string::npos);
        CHECK(c.to.find("SECRET") == std::string::npos);
    }
    CHECK(m.payload_json.find(R"(x=1)") != std::string::npos);  // the rest of the string stays
    CHECK(m.payload_redacted);  // replay must not send the marker back
    auto has = [&](const std::string& p) {
        return std::find(r.redacted_paths.begin(), r.redacted_paths.end(), p) != r.redacted_paths.end();
    };
    CHECK(has("request:/mutations/0/payload/callback/~text/token"));
    CHECK(has("request:/mutations/0/payload/raw/~text/password"));
    CHECK(has("mutation:0:before:/raw/~text/api_key"));
}

TEST_CASE("pipeline: header values, payload paths and host rejections", "[pipeline][redaction]") {
    Fixture f;
    auto a = mutation(1, "Task", R"({"payload_token_count":3,"title":"t"})");
    auto ex = push(push_request("c", {a}), R"({"applied":[],"rejected":[],"conflicts":[]})");
    ex.headers.push_back({"Referer", "https://app.example/sync?token=tok-SECRET&page=2"});
    ex.traces.push_back({a.mutation_id, "", "", ConflictTrace{"strict", Resolution::rejected, "{}", "stale"}});
    auto out = f.run(std::move(ex));
    CHECK(out.request.headers[0].value.find("tok-SECRET") == std::string::npos);
    CHECK(out.request.headers[0].value.find("page=2") != std::string::npos);
    CHECK(std::find(out.request.redacted_paths.begin(), out.request.redacted_paths.end(), "header:Referer") !=
          out.request.redacted_paths.end());
    // "payload_token_count" is redacted (contains "token") but is not the payload itself…
    CHECK(out.mutations[0].payload_redacted);
    CHECK(out.mutations[0].outcome == MutationOutcome::rejected);
    CHECK(out.request.outcome == RequestOutcome::rejected);

    // …whereas a sibling key merely starting with "payload" does not mark the payload.
    auto b = mutation(2, "Task", R"({"title":"t"})");
    std::string body = push_request("c", {b});
    body.insert(body.find("\"payload\""), R"("payload_secret":"x",)");
    auto out2 = f.run(push(body, push_response({b.mutation_id})));
    CHECK_FALSE(out2.mutations[0].payload_redacted);
    CHECK(out2.request.request_body.find("\"payload_secret\":\"[REDACTED]\"") != std::string::npos);
}

TEST_CASE("pipeline: pushes beyond max_mutations keep their count, not their rows", "[pipeline]") {
    Fixture f;
    f.options.max_mutations = 10;
    std::vector<TestMutation> ms;
    std::vector<std::string> ids;
    for (std::uint64_t i = 0; i < 25; ++i) {
        ms.push_back(mutation(i));
        ids.push_back(ms.back().mutation_id);
    }
    auto out = f.run(push(push_request("c", ms), push_response(ids)));
    CHECK(out.mutations.size() == 10);
    CHECK(out.request.mutation_count == 25);
    CHECK(out.request.applied == 10);
    REQUIRE(out.request.notes.size() == 1);  // no noise about the 15 ids that were not kept
    CHECK(has_note(out.request, "/mutations", "25 mutations pushed; the first 10 are stored", false));
    CHECK(out.request.outcome == RequestOutcome::ok);
}
