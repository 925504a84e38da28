// Replay through the real example server (issue 8): a captured conflicting push, the
// database then changes, the preview follows the change, a live replay becomes its own
// captured request with fresh ULIDs, both are linked, and the original's stored bytes never
// change. Every refusal of the HTTP route is checked too: gate off, no confirmation, a reused
// token, a cross-origin POST.
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>

#include "e2e/e2e_support.hpp"
#include "support/temp_dir.hpp"

using namespace tether::e2e;

namespace {

const std::string api = std::string(dashboard_prefix) + "/api";
const std::string task = "01JD3Z6Q8Y9V4K2M1N0P7R5TA1";

long long now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string push_body(const std::string& mutation_id, const std::string& operation, long long timestamp_ms,
                      const std::string& payload = R"({"title":"Buy milk","done":false})") {
    return R"({"client_id":"c-replay","mutations":[{"mutation_id":")" + mutation_id + R"(","entity_id":")" + task +
           R"(","model":"Task","operation":")" + operation + R"(","payload":)" + payload +
           R"(,"version":1,"timestamp":)" + std::to_string(timestamp_ms) + "}]}";
}

json::object push(const ExampleServer& server, const std::string& body) {
    auto reply = http_request(server.port(), "POST", "/sync/push", body, {{"Content-Type", "application/json"}});
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    return json::parse(reply.body).as_object();
}

HttpReply post_replay(const ExampleServer& server, const std::string& request_id, const std::string& body,
                      Headers headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    return http_request(server.port(), "POST", api + "/requests/" + request_id + "/replay", body, headers);
}

std::string confirm_body(const std::string& token) { return R"({"confirm":true,"token":")" + token + R"("})"; }

// The stored detail of a request without its replay links (which may grow).
json::object stored(const ExampleServer& server, const std::string& id) {
    auto detail = get_json(server.port(), api + "/requests/" + id).as_object();
    detail.erase("replays");
    return detail;
}

std::string the_conflicted_push(const ExampleServer& server) {
    auto items = get_all(server.port(), api + "/requests?outcome=conflict");
    REQUIRE(items.size() == 1);
    return std::string(items[0].at("id").as_string());
}

}  // namespace

TEST_CASE("replay: preview follows the database, live replay is a linked clone, the original never changes") {
    tether::test::TempDir dir;
    ExampleServer server(dir.path(), {"--replay-live"});
    const long long t = now_ms();
    push(server, push_body("01JD3Z6Q8Y9V4K2M1N0P7R5M01", "create", t));
    // A stale update: older than the record, last-write-wins keeps the server's version.
    auto answer = push(server, push_body("01JD3Z6Q8Y9V4K2M1N0P7R5M02", "update", t - 60'000, R"({"title":"Stale"})"));
    REQUIRE(answer.at("conflicts").as_array().size() == 1);
    server.await_recorded(2);
    const std::string original = the_conflicted_push(server);
    const json::object original_before = stored(server, original);
    auto mutations_before = get_all(server.port(), api + "/requests/" + original + "/mutations");
    REQUIRE(mutations_before.size() == 1);
    const std::string row = std::string(mutations_before[0].at("id").as_string());
    const json::value mutation_before = get_json(server.port(), api + "/mutations/" + row);

    auto preview = get_json(server.port(), api + "/requests/" + original + "/replay/preview").as_object();
    CHECK(preview.at("live_enabled") == true);
    CHECK(preview.at("total") == 1);
    CHECK(preview.at("items").at(0).at("predicted") == "conflict");
    CHECK(preview.at("predicted_counts").at("conflict") == 1);

    // The database changes: the entity is deleted. The same captured update now finds nothing.
    push(server, push_body("01JD3Z6Q8Y9V4K2M1N0P7R5M03", "delete", t + 1'000, "null"));
    server.await_recorded(3);
    preview = get_json(server.port(), api + "/requests/" + original + "/replay/preview").as_object();
    CHECK(preview.at("items").at(0).at("predicted") == "not_found");
    CHECK(preview.at("items").at(0).at("current_state").is_null());
    const std::string token(preview.at("token").as_string());

    auto replayed = post_replay(server, original, confirm_body(token),
                                {{"Origin", server.url()}});
    INFO(replayed.body);
    REQUIRE(replayed.status == 201);
    auto result = json::parse(replayed.body).as_object();
    const std::string replay_id(result.at("replay_request_id").as_string());
    CHECK(result.at("replay_of") == original.c_str());
    CHECK(result.at("by") == "loopback:127.0.0.1");
    CHECK(result.at("recorded") == true);
    const auto& map = result.at("mutation_id_map").as_object();
    REQUIRE(map.size() == 1);
    const std::string fresh(map.at("01JD3Z6Q8Y9V4K2M1N0P7R5M02").as_string());
    CHECK(fresh != "01JD3Z6Q8Y9V4K2M1N0P7R5M02");
    CHECK(fresh.size() == 26);

    // The clone is a captured request of its own, pointing back; its push carried the fresh id.
    auto clone = get_json(server.port(), api + "/requests/" + replay_id).as_object();
    CHECK(clone.at("replay_of") == original.c_str());
    CHECK(clone.at("kind") == "push");
    CHECK(clone.at("replay").at("by") == "loopback:127.0.0.1");
    CHECK(clone.at("replay").at("mutation_id_map").at("01JD3Z6Q8Y9V4K2M1N0P7R5M02") == fresh.c_str());
    CHECK(get_json(server.port(), api + "/requests/" + original).at("replay").is_null());
    CHECK(std::string(clone.at("request_body").as_string()).find(fresh) != std::string::npos);
    auto clone_mutations = get_all(server.port(), api + "/requests/" + replay_id + "/mutations");
    REQUIRE(clone_mutations.size() == 1);
    CHECK(clone_mutations[0].at("mutation_id") == fresh.c_str());
    CHECK(clone_mutations[0].at("reason") == "not_found");  // what the preview predicted

    // The original points forward, with who and the id map; its stored rows are untouched.
    auto links = get_json(server.port(), api + "/requests/" + original).at("replays").as_array();
    REQUIRE(links.size() == 1);
    CHECK(links[0].at("id") == replay_id.c_str());
    CHECK(links[0].at("by") == "loopback:127.0.0.1");
    CHECK(links[0].at("mutation_id_map").at("01JD3Z6Q8Y9V4K2M1N0P7R5M02") == fresh.c_str());
    CHECK(stored(server, original) == original_before);
    CHECK(get_json(server.port(), api + "/mutations/" + row) == mutation_before);

    // The token replays once.
    auto again = post_replay(server, original, confirm_body(token), {{"Origin", server.url()}});
    CHECK(again.status == 409);
    CHECK(again.body.find("replay_token_rejected") != std::string::npos);

    // A replay of the replay is allowed and chains.
    auto second = get_json(server.port(), api + "/requests/" + replay_id + "/replay/preview").as_object();
    auto chained = post_replay(server, replay_id, confirm_body(std::string(second.at("token").as_string())));
    REQUIRE(chained.status == 201);
    const std::string chained_id(json::parse(chained.body).at("replay_request_id").as_string());
    CHECK(get_json(server.port(), api + "/requests/" + chained_id).at("replay_of") == replay_id.c_str());
    CHECK(get_json(server.port(), api + "/requests/" + replay_id).at("replays").at(0).at("id") == chained_id.c_str());
    CHECK(server.terminate() == 0);
}

TEST_CASE("replay: refused without the gate, without confirmation, with a used token or from another origin") {
    tether::test::TempDir dir;
    const long long t = now_ms();

    SECTION("gate off: 403 and nothing happens") {
        ExampleServer server(dir.path());  // no --replay-live
        push(server, push_body("01JD3Z6Q8Y9V4K2M1N0P7R5M11", "create", t));
        push(server, push_body("01JD3Z6Q8Y9V4K2M1N0P7R5M12", "update", t - 60'000));
        server.await_recorded(2);
        const std::string original = the_conflicted_push(server);
        auto preview = get_json(server.port(), api + "/requests/" + original + "/replay/preview").as_object();
        CHECK(preview.at("live_enabled") == false);  // the preview still works
        auto refused = post_replay(server, original, confirm_body(std::string(preview.at("token").as_string())));
        CHECK(refused.status == 403);
        CHECK(refused.body.find("replay_disabled") != std::string::npos);
        CHECK(get_all(server.port(), api + "/requests").size() == 2);  // no clone was captured
        CHECK(get_json(server.port(), api + "/requests/" + original).at("replays").as_array().empty());
    }

    SECTION("gate on: confirmation, token and origin are all required") {
        ExampleServer server(dir.path(), {"--replay-live"});
        push(server, push_body("01JD3Z6Q8Y9V4K2M1N0P7R5M21", "create", t));
        push(server, push_body("01JD3Z6Q8Y9V4K2M1N0P7R5M22", "update", t - 60'000));
        server.await_recorded(2);
        const std::string original = the_conflicted_push(server);
        const std::string token(
            get_json(server.port(), api + "/requests/" + original + "/replay/preview").at("token").as_string());

        auto unconfirmed = post_replay(server, original, R"({"token":")" + token + R"("})");
        CHECK(unconfirmed.status == 400);
        CHECK(post_replay(server, original, R"({"confirm":"yes","token":"x"})").status == 400);
        CHECK(post_replay(server, original, "{not json").status == 400);
        CHECK(post_replay(server, original, confirm_body("not-a-token")).status == 409);

        auto cross = post_replay(server, original, confirm_body(token), {{"Origin", "http://evil.example"}});
        CHECK(cross.status == 403);
        CHECK(cross.body.find("cross_origin") != std::string::npos);
        auto cross_site = post_replay(server, original, confirm_body(token), {{"Sec-Fetch-Site", "cross-site"}});
        CHECK(cross_site.status == 403);
        auto form = http_request(server.port(), "POST", api + "/requests/" + original + "/replay",
                                 "confirm=true&token=" + token, {{"Content-Type", "application/x-www-form-urlencoded"}});
        CHECK(form.status == 415);
        CHECK(get_all(server.port(), api + "/requests").size() == 2);  // none of these replayed

        // The refusals did not spend the token.
        CHECK(post_replay(server, original, confirm_body(token), {{"Origin", server.url()}}).status == 201);
        CHECK(post_replay(server, original, confirm_body(token), {{"Origin", server.url()}}).status == 409);
        CHECK(get_json(server.port(), api + "/requests/" + original).at("replays").as_array().size() == 1);
    }
}
