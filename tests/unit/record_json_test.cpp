// JSON documents of stored requests and mutations (record_json.hpp): every key and its
// type, nulls for absent optionals, stored text that is not JSON, patches that reproduce
// the state after, pages, and exact round-trips of awkward strings.
#include "tether/record_json.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "detail/diff.hpp"
#include "detail/json.hpp"
#include "support/json_patch.hpp"
#include "tether/differ.hpp"

using namespace tether;
namespace json = boost::json;

namespace {

const std::vector<std::string> request_summary_keys = {
    "id",          "kind",        "client_id",   "client_version", "instance", "started_at", "started_at_us",
    "duration_ms", "duration_us", "http_status", "outcome",        "failed",   "mutations",  "applied",
    "rejected",    "conflicts",   "snapshots",   "models",         "replay_of"};

const std::vector<std::string> request_detail_keys = {"last_sync_cursor",
                                                      "new_sync_cursor",
                                                      "pull_limit",
                                                      "has_more",
                                                      "request_body",
                                                      "response_body",
                                                      "request_truncated",
                                                      "response_truncated",
                                                      "request_body_dropped",
                                                      "response_body_dropped",
                                                      "request_body_scrubbed",
                                                      "response_body_scrubbed",
                                                      "request_parse_error",
                                                      "response_parse_error",
                                                      "headers",
                                                      "redacted_paths",
                                                      "notes",
                                                      "recorded_at",
                                                      "recorded_at_us"};

const std::vector<std::string> mutation_summary_keys = {"id",     "seq",        "mutation_id",     "entity_id",
                                                        "model",  "operation",  "version",         "outcome",
                                                        "reason", "conflicted", "payload_redacted"};

const std::vector<std::string> mutation_detail_keys = {
    "request_id",          "client_id",   "instance",       "started_at", "started_at_us",
    "client_timestamp_ms", "payload",     "rejection_data", "validation", "conflict",
    "state_before",        "state_after", "payload_diff",   "diff",       "patch"};

const std::vector<std::string> conflict_keys = {
    "reason", "resolver", "resolution", "server_state", "server_updated_at", "reported_by_host", "reported_in_response",
    "fields"};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::vector<std::string> keys_of(const json::object& o) {
    std::vector<std::string> out;
    for (const auto& kv : o) out.emplace_back(kv.key());
    return sorted(out);
}

// Parses with Boost.JSON's defaults (strict: valid UTF-8, no comments), so a document that
// passes is valid JSON for any consumer.
json::object parse_object(const std::string& text) {
    json::value v;
    REQUIRE_NOTHROW(v = json::parse(text));
    REQUIRE(v.is_object());
    return v.as_object();
}

std::string str(const json::value& v) {
    REQUIRE(v.is_string());
    return std::string(v.get_string());
}

std::int64_t integer(const json::value& v) {
    REQUIRE((v.is_int64() || v.is_uint64()));
    return v.to_number<std::int64_t>();
}

// What the pipeline stores as payload_diff.
std::vector<FieldChange> payload_diff(const std::string& before, const std::string& payload) {
    std::vector<FieldChange> out;
    detail::diff_payload(json::parse(before), json::parse(payload), out);
    return out;
}

// The shape field_changes_to_json writes, parsed.
json::value changes(const std::vector<FieldChange>& list) { return json::parse(field_changes_to_json(list)); }

const Micros t0 = 1'732'500'000'123'456;  // 2024-11-25T02:00:00.123456Z

RequestRecord push_request() {
    RequestRecord r;
    r.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3R";
    r.kind = ExchangeKind::push;
    r.client_id = "c-7f3a";
    r.client_version = "2.4.1";
    r.instance = "eu-1";
    r.started_at_us = t0;
    r.duration_us = 12'345;
    r.http_status = 200;
    r.outcome = RequestOutcome::rejected;
    r.mutation_count = 2;
    r.applied = 1;
    r.rejected = 1;
    r.conflicts = 1;
    r.models = {"Project", "Task"};
    r.request_body = R"({"client_id":"c-7f3a","mutations":[{"payload":{"password":"[REDACTED]"}}]})";
    r.response_body = R"({"applied":["m1"],"rejected":[],"conflicts":[]})";
    r.headers = {{"X-Tether-Client-Version", "2.4.1"}, {"Authorization", "[REDACTED]"}};
    r.redacted_paths = {"request:/mutations/0/payload/password", "header:Authorization"};
    r.notes = {{"response", "/rejected/0/data", "expected an object, found a string", false}};
    r.recorded_at_us = t0 + 500'000;
    return r;
}

// The fields every mutation of push_request() shares.
MutationRecord mutation_of_push(std::uint32_t seq, char tag) {
    MutationRecord m;
    m.id = std::string("01JD3Z6Q8Y9V4K2M1N0P7R5S3") + tag;
    m.request_id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3R";
    m.seq = seq;
    m.client_id = "c-7f3a";
    m.instance = "eu-1";
    m.started_at_us = t0;
    m.mutation_id = std::string("01JD3Z6Q8Y9V4K2M1N0P7R5ST") + tag;
    m.entity_id = std::string("01JD3Z6Q8Y9V4K2M1N0P7R5SE") + tag;
    m.client_timestamp_ms = 1'732'500'000'123 + seq;
    return m;
}

// Applied after a merge: conflict reported by the host and in the response, with traces.
MutationRecord conflicted_mutation() {
    MutationRecord m = mutation_of_push(0, 'M');
    m.model = "Task";
    m.operation = "update";
    m.version = 3;
    m.payload_json = R"({"title":"Buy oat milk","done":false,"password":"[REDACTED]"})";
    m.payload_redacted = true;
    m.outcome = MutationOutcome::applied;
    m.state_before_json = R"({"id":7,"title":"Buy milk","done":true,"tags":["a","b"],"updated_at":"x"})";
    m.state_after_json = R"({"id":7,"title":"Buy oat milk","done":false,"tags":["a"],"updated_at":"y"})";
    m.payload_diff = payload_diff(m.state_before_json, m.payload_json);
    m.change_diff = diff_json(m.state_before_json, m.state_after_json);
    ConflictInfo c;
    c.reason = "conflict";
    c.resolver = "merge_titles";
    c.resolution = Resolution::merged;
    c.server_state_json = R"({"title":"Buy milk","done":true})";
    c.server_updated_at = "2026-11-24T10:00:00.000000Z";
    c.reported_by_host = true;
    c.reported_in_response = true;
    c.fields = diff_json(R"({"title":"Buy milk","done":true})", R"({"title":"Buy oat milk","done":false})");
    m.conflict = c;
    return m;
}

// Rejected by validation; no traces.
MutationRecord rejected_mutation() {
    MutationRecord m = mutation_of_push(1, 'N');
    m.model = "Project";
    m.operation = "create";
    m.version = 1;
    m.payload_json = R"({"title":""})";
    m.outcome = MutationOutcome::rejected;
    m.reason = "validation_failed";
    m.rejection_data_json = R"({"messages":{"title":["The title field is required."]}})";
    m.validation_json = R"({"title":["The title field is required."]})";
    return m;
}

}  // namespace

TEST_CASE("record_json: push request detail has every key with its type", "[record_json]") {
    const auto r = push_request();
    auto o = parse_object(to_json(r));
    CHECK(keys_of(o) == sorted(concat(request_summary_keys, request_detail_keys)));

    CHECK(str(o["id"]) == r.id);
    CHECK(str(o["kind"]) == "push");
    CHECK(str(o["client_id"]) == "c-7f3a");
    CHECK(str(o["client_version"]) == "2.4.1");
    auto unversioned = r;
    unversioned.client_version.clear();  // the client sent no version header
    CHECK(parse_object(to_json(unversioned))["client_version"].is_null());
    CHECK(str(o["instance"]) == "eu-1");
    CHECK(str(o["started_at"]) == "2024-11-25T02:00:00.123456Z");
    CHECK(integer(o["started_at_us"]) == t0);
    REQUIRE(o["duration_ms"].is_double());
    CHECK(o["duration_ms"].get_double() == Approx(12.345).epsilon(1e-12));
    CHECK(integer(o["duration_us"]) == 12'345);
    CHECK(integer(o["http_status"]) == 200);
    CHECK(str(o["outcome"]) == "rejected");
    CHECK(o["failed"] == json::value(true));
    CHECK(integer(o["mutations"]) == 2);
    CHECK(integer(o["applied"]) == 1);
    CHECK(integer(o["rejected"]) == 1);
    CHECK(integer(o["conflicts"]) == 1);
    CHECK(integer(o["snapshots"]) == 0);
    CHECK(o["models"] == json::parse(R"(["Project","Task"])"));
    CHECK(o["replay_of"].is_null());

    // A push has no pull details.
    for (const char* k : {"last_sync_cursor", "new_sync_cursor", "pull_limit", "has_more"}) CHECK(o[k].is_null());

    // Bodies are strings holding the stored text, byte for byte (not re-serialized JSON).
    CHECK(str(o["request_body"]) == r.request_body);
    CHECK(str(o["response_body"]) == r.response_body);
    for (const char* k : {"request_truncated", "response_truncated", "request_body_dropped", "response_body_dropped",
                          "request_body_scrubbed", "response_body_scrubbed"})
        CHECK(o[k] == json::value(false));
    CHECK(o["request_parse_error"].is_null());
    CHECK(o["response_parse_error"].is_null());

    CHECK(o["headers"] == json::parse(R"([{"name":"X-Tether-Client-Version","value":"2.4.1"},)"
                                      R"({"name":"Authorization","value":"[REDACTED]"}])"));
    CHECK(o["redacted_paths"] == json::parse(R"(["request:/mutations/0/payload/password","header:Authorization"])"));
    CHECK(o["notes"] == json::parse(R"([{"where":"response","path":"/rejected/0/data",)"
                                    R"("message":"expected an object, found a string","protocol_error":false}])"));
    CHECK(str(o["recorded_at"]) == "2024-11-25T02:00:00.623456Z");
    CHECK(integer(o["recorded_at_us"]) == t0 + 500'000);
}

TEST_CASE("record_json: conflicted mutation with traces has every key with its type", "[record_json]") {
    const auto m = conflicted_mutation();
    auto o = parse_object(to_json(m));
    CHECK(keys_of(o) == sorted(concat(mutation_summary_keys, mutation_detail_keys)));

    CHECK(str(o["id"]) == m.id);
    CHECK(str(o["request_id"]) == m.request_id);
    CHECK(integer(o["seq"]) == 0);
    CHECK(str(o["client_id"]) == "c-7f3a");
    CHECK(str(o["instance"]) == "eu-1");
    CHECK(str(o["started_at"]) == "2024-11-25T02:00:00.123456Z");
    CHECK(integer(o["started_at_us"]) == t0);
    CHECK(str(o["mutation_id"]) == m.mutation_id);
    CHECK(str(o["entity_id"]) == m.entity_id);
    CHECK(str(o["model"]) == "Task");
    CHECK(str(o["operation"]) == "update");
    CHECK(integer(o["version"]) == 3);
    CHECK(integer(o["client_timestamp_ms"]) == 1'732'500'000'123);
    CHECK(o["payload"] == json::parse(m.payload_json));  // a value, not a string
    CHECK(o["payload_redacted"] == json::value(true));
    CHECK(str(o["outcome"]) == "applied");
    CHECK(o["reason"].is_null());
    CHECK(o["rejection_data"].is_null());
    CHECK(o["validation"].is_null());
    CHECK(o["conflicted"] == json::value(true));

    REQUIRE(o["conflict"].is_object());
    auto& c = o["conflict"].as_object();
    CHECK(keys_of(c) == sorted(conflict_keys));
    CHECK(str(c["reason"]) == "conflict");
    CHECK(str(c["resolver"]) == "merge_titles");
    CHECK(str(c["resolution"]) == "merged");
    CHECK(c["server_state"] == json::parse(R"({"title":"Buy milk","done":true})"));
    CHECK(str(c["server_updated_at"]) == "2026-11-24T10:00:00.000000Z");
    CHECK(c["reported_by_host"] == json::value(true));
    CHECK(c["reported_in_response"] == json::value(true));
    CHECK(c["fields"] == changes(m.conflict->fields));
    REQUIRE(c["fields"].as_array().size() == 2);

    CHECK(o["state_before"] == json::parse(m.state_before_json));
    CHECK(o["state_after"] == json::parse(m.state_after_json));

    // Field-change lists have exactly the field_changes_to_json shape.
    REQUIRE_FALSE(m.payload_diff.empty());
    CHECK(o["payload_diff"] == changes(m.payload_diff));
    CHECK(o["diff"] == changes(m.change_diff));
    CHECK(o["diff"].as_array().size() == m.change_diff.size());
    auto& first = o["diff"].as_array().front().as_object();
    CHECK(str(first["path"]) == "/title");
    CHECK(str(first["op"]) == "changed");
    CHECK(str(first["from"]) == "Buy milk");
    CHECK(str(first["to"]) == "Buy oat milk");

    // The patch is an RFC 6902 array that turns state_before into state_after.
    REQUIRE(o["patch"].is_array());
    CHECK_FALSE(o["patch"].as_array().empty());
    CHECK(test::apply_patch(json::parse(m.state_before_json), json::serialize(o["patch"])) ==
          json::parse(m.state_after_json));
}

TEST_CASE("record_json: rejected mutation carries validation and rejection data", "[record_json]") {
    const auto m = rejected_mutation();
    auto o = parse_object(to_json(m));
    CHECK(keys_of(o) == sorted(concat(mutation_summary_keys, mutation_detail_keys)));
    CHECK(str(o["outcome"]) == "rejected");
    CHECK(str(o["reason"]) == "validation_failed");
    CHECK(o["rejection_data"] == json::parse(m.rejection_data_json));
    CHECK(o["validation"] == json::parse(R"({"title":["The title field is required."]})"));
    CHECK(o["conflicted"] == json::value(false));
    CHECK(o["conflict"].is_null());
    // No traces: no states, no diff, no patch.
    CHECK(o["state_before"].is_null());
    CHECK(o["state_after"].is_null());
    CHECK(o["payload_diff"] == json::array());
    CHECK(o["diff"] == json::array());
    CHECK(o["patch"].is_null());
}

TEST_CASE("record_json: pull request with cursors", "[record_json]") {
    RequestRecord r;
    r.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3P";
    r.kind = ExchangeKind::pull;
    r.client_id = "c-9";
    r.started_at_us = t0;
    r.duration_us = 2'000;
    r.http_status = 200;
    r.snapshots = 3;
    r.models = {"Note", "Task"};
    r.last_sync_cursor = 1'732'500'000'123'456;
    r.new_sync_cursor = 1'732'500'000'999'999;
    r.pull_limit = 500;
    r.has_more = true;

    auto o = parse_object(to_json(r));
    CHECK(keys_of(o) == sorted(concat(request_summary_keys, request_detail_keys)));
    CHECK(str(o["kind"]) == "pull");
    CHECK(integer(o["snapshots"]) == 3);
    CHECK(integer(o["mutations"]) == 0);
    CHECK(integer(o["last_sync_cursor"]) == 1'732'500'000'123'456);
    CHECK(integer(o["new_sync_cursor"]) == 1'732'500'000'999'999);
    CHECK(integer(o["pull_limit"]) == 500);
    CHECK(o["has_more"] == json::value(true));
    REQUIRE(o["duration_ms"].is_double());  // a number even when whole
    CHECK(o["duration_ms"].get_double() == 2.0);
    CHECK(str(o["outcome"]) == "ok");
    CHECK(o["failed"] == json::value(false));

    r.has_more = false;
    r.last_sync_cursor.reset();  // first pull: null cursor
    auto o2 = parse_object(to_json(r));
    CHECK(o2["has_more"] == json::value(false));
    CHECK(o2["last_sync_cursor"].is_null());
}

TEST_CASE("record_json: request with an invalid body and its parse error", "[record_json]") {
    RequestRecord r;
    r.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3E";
    r.client_id = "";
    r.started_at_us = t0;
    r.http_status = 400;
    r.outcome = RequestOutcome::error;
    r.request_body = "{\"client_id\": \"c-1\",\n \"mutations\": [tru";
    r.request_body_scrubbed = true;
    r.request_truncated = true;
    r.response_body_dropped = true;
    r.request_parse_error = ParseFailure{"syntax error", 37, 2, 17};
    r.response_parse_error = ParseFailure{"incomplete JSON", 0, 1, 1};
    r.notes = {{"request", "", "missing client_id", true}};

    auto o = parse_object(to_json(r));
    CHECK(keys_of(o) == sorted(concat(request_summary_keys, request_detail_keys)));
    CHECK(str(o["request_body"]) == r.request_body);
    CHECK(str(o["response_body"]) == "");
    CHECK(o["request_body_scrubbed"] == json::value(true));
    CHECK(o["request_truncated"] == json::value(true));
    CHECK(o["response_body_dropped"] == json::value(true));
    CHECK(o["response_body_scrubbed"] == json::value(false));
    CHECK(str(o["outcome"]) == "error");
    CHECK(o["failed"] == json::value(true));
    CHECK(integer(o["http_status"]) == 400);
    CHECK(o["request_parse_error"] == json::parse(R"({"message":"syntax error","offset":37,"line":2,"column":17})"));
    CHECK(o["response_parse_error"] == json::parse(R"({"message":"incomplete JSON","offset":0,"line":1,"column":1})"));
    CHECK(o["notes"] ==
          json::parse(R"([{"where":"request","path":"","message":"missing client_id","protocol_error":true}])"));
}

TEST_CASE("record_json: absent optionals are null, empty lists are []", "[record_json]") {
    const RequestRecord r;
    auto o = parse_object(to_json(r));
    CHECK(keys_of(o) == sorted(concat(request_summary_keys, request_detail_keys)));
    for (const char* k : {"replay_of", "last_sync_cursor", "new_sync_cursor", "pull_limit", "has_more",
                          "request_parse_error", "response_parse_error"})
        CHECK(o[k].is_null());
    for (const char* k : {"models", "headers", "redacted_paths", "notes"}) CHECK(o[k] == json::array());
    CHECK(str(o["started_at"]) == "1970-01-01T00:00:00.000000Z");
    CHECK(str(o["recorded_at"]) == "1970-01-01T00:00:00.000000Z");
    CHECK(str(o["request_body"]) == "");

    const MutationRecord m;
    auto mo = parse_object(to_json(m));
    CHECK(keys_of(mo) == sorted(concat(mutation_summary_keys, mutation_detail_keys)));
    for (const char* k : {"version", "client_timestamp_ms", "payload", "reason", "rejection_data", "validation",
                          "conflict", "state_before", "state_after", "patch"})
        CHECK(mo[k].is_null());
    CHECK(str(mo["outcome"]) == "unknown");
    CHECK(mo["conflicted"] == json::value(false));
    CHECK(mo["payload_diff"] == json::array());
    CHECK(mo["diff"] == json::array());

    // A conflict seen only in the response: no resolver, no resolution, no server state.
    MutationRecord only_response;
    only_response.conflict = ConflictInfo{};
    only_response.conflict->reason = "conflict";
    only_response.conflict->reported_in_response = true;
    auto co = parse_object(to_json(only_response));
    REQUIRE(co["conflict"].is_object());
    auto& c = co["conflict"].as_object();
    CHECK(keys_of(c) == sorted(conflict_keys));
    for (const char* k : {"resolver", "resolution", "server_state", "server_updated_at"}) CHECK(c[k].is_null());
    CHECK(c["fields"] == json::array());
    CHECK(co["conflicted"] == json::value(true));

    // Only one side traced: no patch.
    MutationRecord one_side;
    one_side.state_before_json = R"({"a":1})";
    auto so = parse_object(to_json(one_side));
    CHECK(so["state_before"] == json::parse(R"({"a":1})"));
    CHECK(so["state_after"].is_null());
    CHECK(so["patch"].is_null());
}

TEST_CASE("record_json: stored JSON that does not parse is embedded as a string", "[record_json]") {
    MutationRecord m = conflicted_mutation();
    m.payload_json = "{\"title\": \"Buy milk\",";
    m.rejection_data_json = "not json";
    m.validation_json = "{'title': 1}";
    m.conflict->server_state_json = "[1, 2";
    m.state_after_json = "{\"title\": tru";
    m.change_diff = {FieldChange{"/title", ChangeOp::changed, "\"a\"", "oops{"}};
    m.conflict->fields = {FieldChange{"/x", ChangeOp::added, "", "<b>"}};

    std::string text;
    REQUIRE_NOTHROW(text = to_json(m));
    auto o = parse_object(text);
    CHECK(str(o["payload"]) == m.payload_json);
    CHECK(str(o["rejection_data"]) == "not json");
    CHECK(str(o["validation"]) == "{'title': 1}");
    CHECK(str(o["conflict"].as_object()["server_state"]) == "[1, 2");
    CHECK(o["state_before"] == json::parse(m.state_before_json));
    CHECK(str(o["state_after"]) == m.state_after_json);
    CHECK(o["patch"].is_null());  // no patch from a document that is not JSON; both states are still shown
    CHECK(o["diff"] == json::parse(R"([{"path":"/title","op":"changed","from":"a","to":"oops{"}])"));
    CHECK(o["conflict"].as_object()["fields"] == json::parse(R"([{"path":"/x","op":"added","to":"<b>"}])"));

    // Both states invalid.
    m.state_before_json = "{";
    REQUIRE_NOTHROW(text = to_json(m));
    auto o2 = parse_object(text);
    CHECK(str(o2["state_before"]) == "{");
    CHECK(o2["patch"].is_null());

    // Summaries and pages never look at stored JSON.
    CHECK_NOTHROW(parse_object(mutation_summary_json(m)));
}

TEST_CASE("record_json: patch applied to state_before gives state_after", "[record_json]") {
    struct Case {
        const char* before;
        const char* after;
    };
    const Case cases[] = {
        {R"({"a":1,"b":{"c":[1,2,3]},"d":"x"})", R"({"a":2,"b":{"c":[1,3]},"e":null})"},
        {R"({"a/b":1,"~t":{"x~1":[]}})", R"({"a/b":2,"~t":{"x~1":[true],"/":"s"}})"},
        {"null", R"({"title":"created"})"},  // create: no record before
        {R"({"title":"deleted"})", "null"},  // delete: no record after
        {R"([1,{"k":"v"},3])", R"([{"k":"w"},2])"},
        {R"({"same":true})", R"({"same":true})"},
        {R"({"t":"日本語 ü \" \\ </script>"})", R"({"t":"😀\n\t"})"},
    };
    for (const auto& c : cases) {
        MutationRecord m;
        m.state_before_json = c.before;
        m.state_after_json = c.after;
        auto o = parse_object(to_json(m));
        INFO(c.before << " -> " << c.after);
        REQUIRE(o["patch"].is_array());
        CHECK(o["patch"] == json::parse(json_patch(c.before, c.after)));
        CHECK(test::apply_patch(json::parse(c.before), json::serialize(o["patch"])) == json::parse(c.after));
    }

    // A state as deep as storage accepts still gets its patch as a value, even though the
    // patch wraps it two levels deeper.
    std::string deep(detail::max_json_depth, '[');
    deep += std::string(detail::max_json_depth, ']');
    REQUIRE(detail::try_parse(deep, nullptr));
    MutationRecord m;
    m.state_before_json = "1";
    m.state_after_json = deep;
    json::parse_options deep_opts;
    deep_opts.max_depth = 2 * detail::max_json_depth;
    auto doc = json::parse(to_json(m), {}, deep_opts);
    auto& patch = doc.at("patch");
    REQUIRE(patch.is_array());
    REQUIRE(patch.as_array().size() == 1);
    CHECK(patch.at(0).at("value") == json::parse(deep, {}, deep_opts));
}

TEST_CASE("record_json: summaries have only the list keys", "[record_json]") {
    const auto r = push_request();
    auto s = parse_object(request_summary_json(r));
    CHECK(keys_of(s) == sorted(request_summary_keys));
    // The summary is the detail minus bodies, headers and notes: same values.
    auto d = parse_object(to_json(r));
    for (const auto& k : request_summary_keys) CHECK(s[k] == d[k]);

    const auto m = conflicted_mutation();
    auto ms = parse_object(mutation_summary_json(m));
    CHECK(keys_of(ms) == sorted(mutation_summary_keys));
    auto md = parse_object(to_json(m));
    for (const auto& k : mutation_summary_keys) CHECK(ms[k] == md[k]);
    CHECK(ms["conflicted"] == json::value(true));
    CHECK(ms["payload_redacted"] == json::value(true));

    auto rs = parse_object(mutation_summary_json(rejected_mutation()));
    CHECK(str(rs["reason"]) == "validation_failed");
    CHECK(integer(rs["seq"]) == 1);
    CHECK(integer(rs["version"]) == 1);
}

TEST_CASE("record_json: pages of requests and mutations", "[record_json]") {
    Page<RequestRecord> requests;
    auto empty = parse_object(to_json(requests));
    CHECK(keys_of(empty) == sorted({"items", "next_cursor"}));
    CHECK(empty["items"] == json::array());
    CHECK(empty["next_cursor"].is_null());

    auto pull = push_request();
    pull.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3Q";
    pull.kind = ExchangeKind::pull;
    pull.replay_of = "01JD3Z6Q8Y9V4K2M1N0P7R5S3R";
    requests.items = {push_request(), pull};
    requests.next_cursor = "eyJ0IjoxNzMyNTAwMDAwMTIzNDU2LCJpZCI6IjAxSkQifQ";
    auto page = parse_object(to_json(requests));
    CHECK(str(page["next_cursor"]) == requests.next_cursor);
    REQUIRE(page["items"].as_array().size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        auto& item = page["items"].as_array()[i].as_object();
        CHECK(keys_of(item) == sorted(request_summary_keys));
        CHECK(json::value(item) == json::parse(request_summary_json(requests.items[i])));
    }
    CHECK(str(page["items"].as_array()[1].as_object()["replay_of"]) == "01JD3Z6Q8Y9V4K2M1N0P7R5S3R");

    Page<MutationRecord> mutations;
    auto mempty = parse_object(to_json(mutations));
    CHECK(mempty["items"] == json::array());
    CHECK(mempty["next_cursor"].is_null());

    mutations.items = {conflicted_mutation(), rejected_mutation()};
    auto mpage = parse_object(to_json(mutations));
    CHECK(mpage["next_cursor"].is_null());  // the last page
    REQUIRE(mpage["items"].as_array().size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        auto& item = mpage["items"].as_array()[i].as_object();
        CHECK(keys_of(item) == sorted(mutation_summary_keys));
        CHECK(json::value(item) == json::parse(mutation_summary_json(mutations.items[i])));
    }
    mutations.next_cursor = "c2";
    CHECK(str(parse_object(to_json(mutations))["next_cursor"]) == "c2");
}

TEST_CASE("record_json: quotes, markup, unicode and control characters round-trip exactly", "[record_json]") {
    const std::string nasty = "He said \"hi\" \\ <img src=x onerror=alert(1)> </script> 日本語 ü 😀 \n\t\r\b\f\x01\x1f";
    json::object payload{{"title", nasty}, {nasty, 1}};
    const std::string payload_text = json::serialize(payload);

    RequestRecord r = push_request();
    r.client_id = nasty;
    r.client_version = nasty;
    r.instance = nasty;
    r.models = {nasty};
    r.request_body = nasty;  // not JSON: kept as text
    r.response_body = payload_text;
    r.headers = {{nasty, nasty}};
    r.redacted_paths = {nasty};
    r.notes = {{nasty, nasty, nasty, true}};
    r.replay_of = nasty;
    r.request_parse_error = ParseFailure{nasty, 1, 1, 2};

    auto o = parse_object(to_json(r));
    for (const char* k : {"client_id", "client_version", "instance", "request_body", "replay_of"})
        CHECK(str(o[k]) == nasty);
    CHECK(str(o["response_body"]) == payload_text);
    CHECK(str(o["models"].as_array()[0]) == nasty);
    CHECK(str(o["redacted_paths"].as_array()[0]) == nasty);
    auto& h = o["headers"].as_array()[0].as_object();
    CHECK(str(h["name"]) == nasty);
    CHECK(str(h["value"]) == nasty);
    auto& n = o["notes"].as_array()[0].as_object();
    for (const char* k : {"where", "path", "message"}) CHECK(str(n[k]) == nasty);
    CHECK(str(o["request_parse_error"].as_object()["message"]) == nasty);

    MutationRecord m = conflicted_mutation();
    m.mutation_id = nasty;
    m.entity_id = nasty;
    m.model = nasty;
    m.operation = nasty;
    m.reason = nasty;
    m.payload_json = payload_text;
    m.state_before_json = R"({"title":"x"})";
    m.state_after_json = payload_text;
    m.change_diff = diff_json(m.state_before_json, m.state_after_json);
    m.conflict->resolver = nasty;
    m.conflict->reason = nasty;
    m.conflict->server_updated_at = nasty;

    auto mo = parse_object(to_json(m));
    for (const char* k : {"mutation_id", "entity_id", "model", "operation", "reason"}) CHECK(str(mo[k]) == nasty);
    CHECK(mo["payload"] == json::value(payload));
    CHECK(mo["state_after"] == json::value(payload));
    auto& c = mo["conflict"].as_object();
    for (const char* k : {"resolver", "reason", "server_updated_at"}) CHECK(str(c[k]) == nasty);
    CHECK(mo["diff"] == changes(m.change_diff));
    CHECK(str(mo["diff"].as_array()[0].as_object()["to"]) == nasty);
    CHECK(test::apply_patch(json::parse(m.state_before_json), json::serialize(mo["patch"])) == json::value(payload));

    // The summary carries the same strings.
    auto ms = parse_object(mutation_summary_json(m));
    CHECK(str(ms["model"]) == nasty);
}

TEST_CASE("record_json: bytes that are not UTF-8 become U+FFFD, so the document stays valid", "[record_json]") {
    RequestRecord r;
    r.request_body = "ok \xff\xfe end \xc3";                              // invalid lead bytes, a sequence cut short
    r.headers = {{"X-Raw", "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|é"}};  // overlong, surrogate, > U+10FFFF
    r.client_id = "ü😀";                                                   // valid: unchanged
    std::string text;
    REQUIRE_NOTHROW(text = to_json(r));
    auto o = parse_object(text);  // Boost.JSON rejects invalid UTF-8
    const std::string bad = "\xef\xbf\xbd";
    CHECK(str(o["request_body"]) == "ok " + bad + bad + " end " + bad);
    CHECK(str(o["headers"].as_array()[0].as_object()["value"]) ==
          bad + bad + "|" + bad + bad + bad + "|" + bad + bad + bad + bad + "|é");
    CHECK(str(o["client_id"]) == "ü😀");

    Page<RequestRecord> page;
    page.items = {r};
    r.client_id = "\x80";
    page.items.push_back(r);
    auto p = parse_object(to_json(page));
    CHECK(str(p["items"].as_array()[1].as_object()["client_id"]) == bad);

    MutationRecord m;
    m.model = "\xfe";
    m.payload_json = "\"\xfe\"";  // not JSON (Boost rejects it): embedded as a string
    auto mo = parse_object(to_json(m));
    CHECK(str(mo["model"]) == bad);
    CHECK(str(mo["payload"]) == "\"" + bad + "\"");
    CHECK(str(parse_object(mutation_summary_json(m))["model"]) == bad);
}
