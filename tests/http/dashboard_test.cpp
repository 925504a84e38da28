// The dashboard's HTTP surface through Dashboard::handle(): mounting, the UI and its assets,
// every JSON route against the core queries, parameter validation, errors and limits.
#include <catch2/catch.hpp>

#include "http_support.hpp"
#include "support/faulty_storage.hpp"
#include "support/protocol.hpp"
#include "tether/observer.hpp"
#include "tether/record_json.hpp"

using namespace tether;
using tether::test::call;
using tether::test::get;
using tether::test::json_of;
namespace http = boost::beast::http;

namespace {

// An observer with a little of everything: applied pushes, a validation failure, a
// conflict, a pull and an unparseable request.
std::unique_ptr<Observer> observed_traffic() {
    auto observer = Observer::builder().build();
    auto& rec = observer->recorder();
    for (std::uint64_t i = 0; i < 6; ++i) rec.record(test::sample_push("c-" + std::to_string(i % 3), 3, i));

    test::TestMutation bad{test::test_ulid(900), test::test_ulid(901, 'E')};
    bad.payload_json = R"({"title":"","password":"hunter2"})";
    Exchange rejected;
    rejected.request_body = test::push_request("c-bad", {bad});
    rejected.response_body = test::push_response({}, {{bad.mutation_id}});
    rec.record(std::move(rejected));

    test::TestMutation stale{test::test_ulid(910), test::test_ulid(911, 'E')};
    Exchange conflicted;
    conflicted.request_body = test::push_request("c-0", {stale});
    conflicted.response_body = test::push_response({}, {}, {{stale.mutation_id}});
    rec.record(std::move(conflicted));

    Exchange pull;
    pull.kind = ExchangeKind::pull;
    pull.request_body = test::pull_request("c-1", 1'700'000'000'000'000);
    pull.response_body = test::pull_response({"Task", "Note"}, 1'700'000'000'000'001, false);
    rec.record(std::move(pull));

    Exchange broken;
    broken.request_body = R"({"client_id":"c-2","mutations":[)";
    broken.http_status = 400;
    broken.response_body = R"({"error":"invalid_json"})";
    rec.record(std::move(broken));
    REQUIRE(rec.flush());
    return observer;
}

std::string error_code_of(const beast::Response& res) { return std::string(json_of(res).at("error").as_string()); }

}  // namespace

TEST_CASE("dashboard: mounts under its prefix and leaves everything else to the host", "[http]") {
    auto observer = Observer::builder().build();
    beast::Dashboard dashboard(*observer);
    CHECK(dashboard.prefix() == "/tether/dashboard");
    CHECK(dashboard.owns("/tether/dashboard"));
    CHECK(dashboard.owns("/tether/dashboard/"));
    CHECK(dashboard.owns("/tether/dashboard/api/requests?limit=5"));
    CHECK(dashboard.owns("/tether/dashboard?x=1"));
    CHECK_FALSE(dashboard.owns("/tether/dashboardx"));
    CHECK_FALSE(dashboard.owns("/tether"));
    CHECK_FALSE(dashboard.owns("/sync/push"));

    beast::Request req{http::verb::post, "/sync/push", 11};
    CHECK_FALSE(dashboard.handle(req, boost::asio::ip::make_address("127.0.0.1")).has_value());

    for (const char* bad : {"tether", "/tether/", "/a//b", "/a?b", "/a b", "/a%20b"}) {
        beast::DashboardOptions o;
        o.prefix = bad;
        CHECK_THROWS_AS(beast::Dashboard(*observer, o), std::invalid_argument);
    }
    beast::DashboardOptions root;
    root.prefix = "";
    beast::Dashboard at_root(*observer, root);
    CHECK(at_root.owns("/anything"));
    CHECK(get(at_root, "/").result() == http::status::ok);
}

TEST_CASE("dashboard: the page, its assets, redirects, ETags and HEAD", "[http]") {
    auto observer = Observer::builder().build();
    beast::DashboardOptions options;
    options.prefix = "/ops/a&b";
    beast::Dashboard dashboard(*observer, options);

    auto redirect = get(dashboard, "/ops/a&b?x=1");
    CHECK(redirect.result() == http::status::permanent_redirect);
    CHECK(redirect[http::field::location] == "/ops/a&b/?x=1");

    auto page = get(dashboard, "/ops/a&b/");
    CHECK(page.result() == http::status::ok);
    CHECK(page[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(page.body().find(R"(<meta name="tether-prefix" content="/ops/a&amp;b">)") != std::string::npos);
    CHECK(page.body().find("{{PREFIX}}") == std::string::npos);
    CHECK(page["Content-Security-Policy"].find("frame-ancestors 'none'") != boost::beast::string_view::npos);
    CHECK(page["Content-Security-Policy"].find("unsafe-inline") == boost::beast::string_view::npos);
    CHECK(page["X-Content-Type-Options"] == "nosniff");

    auto js = get(dashboard, "/ops/a&b/assets/app.js");
    CHECK(js.result() == http::status::ok);
    CHECK(js[http::field::content_type] == "text/javascript; charset=utf-8");
    CHECK(get(dashboard, "/ops/a&b/assets/app.css")[http::field::content_type] == "text/css; charset=utf-8");
    CHECK(get(dashboard, "/ops/a&b/assets/favicon.svg")[http::field::content_type] == "image/svg+xml");
    const std::string etag(js[http::field::etag]);
    REQUIRE(etag.size() > 2);
    CHECK(etag.front() == '"');

    auto revalidated = call(dashboard, {.target = "/ops/a&b/assets/app.js", .headers = {{"If-None-Match", etag}}});
    CHECK(revalidated.result() == http::status::not_modified);
    CHECK(revalidated.body().empty());
    CHECK(call(dashboard, {.target = "/ops/a&b/assets/app.js", .headers = {{"If-None-Match", "\"stale\""}}}).result() ==
          http::status::ok);

    auto head = call(dashboard, {.method = http::verb::head, .target = "/ops/a&b/assets/app.js"});
    CHECK(head.result() == http::status::ok);
    CHECK(head.body().empty());
    CHECK(head[http::field::content_length] == std::to_string(js.body().size()));

    // Only the embedded files, never the file system, never the README, never traversal.
    for (const char* t : {"/ops/a&b/assets/README.md", "/ops/a&b/assets/../CMakeLists.txt",
                          "/ops/a&b/assets/..%2F..%2Fetc%2Fpasswd", "/ops/a&b/assets/%2e%2e/x", "/ops/a&b/assets/",
                          "/ops/a&b/assets/index.html", "/ops/a&b/assets/app.js/x"}) {
        INFO(t);
        auto res = get(dashboard, t);
        CHECK(res.result() == http::status::not_found);
        CHECK(res[http::field::content_type] == "application/json");
    }
}

TEST_CASE("dashboard: JSON API answers what the core queries return", "[http]") {
    auto observer = observed_traffic();
    beast::Dashboard dashboard(*observer);
    auto& storage = observer->storage();
    const std::string p = "/tether/dashboard";

    SECTION("requests: list, filters, keyset pages, detail") {
        auto all = json_of(get(dashboard, p + "/api/requests?limit=500"));
        CHECK(all.at("items").as_array().size() == storage.count_requests());
        CHECK(get(dashboard, p + "/api/requests").body() == to_json(storage.list_requests({}, {})));

        auto pushes = json_of(get(dashboard, p + "/api/requests?kind=push&client_id=c-0&limit=500"));
        for (const auto& item : pushes.at("items").as_array()) {
            CHECK(item.at("kind") == "push");
            CHECK(item.at("client_id") == "c-0");
        }
        CHECK(pushes.at("items").as_array().size() == 3);  // two sample pushes + the conflict
        CHECK(json_of(get(dashboard, p + "/api/requests?outcome=failed")).at("items").as_array().size() == 2);
        CHECK(json_of(get(dashboard, p + "/api/requests?outcome=conflict")).at("items").as_array().size() == 1);
        CHECK(json_of(get(dashboard, p + "/api/requests?model=Note&kind=pull")).at("items").as_array().size() == 1);
        CHECK(json_of(get(dashboard, p + "/api/requests?from=2999-01-01T00:00:00Z")).at("items").as_array().empty());

        // Walk every page of 3; together they are the whole list, newest first, no repeats.
        std::vector<std::string> walked;
        std::string cursor;
        do {
            auto page = json_of(get(dashboard, p + "/api/requests?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor)));
            for (const auto& item : page.at("items").as_array()) walked.emplace_back(item.at("id").as_string());
            cursor = page.at("next_cursor").is_null() ? "" : std::string(page.at("next_cursor").as_string());
        } while (!cursor.empty());
        std::vector<std::string> expected;
        for (const auto& item : all.at("items").as_array()) expected.emplace_back(item.at("id").as_string());
        CHECK(walked == expected);

        const std::string id = expected.back();
        auto detail = json_of(get(dashboard, p + "/api/requests/" + id)).as_object();
        CHECK(detail.at("replays").as_array().empty());  // the replay links join the core document
        CHECK(detail.at("replay").is_null());
        detail.erase("replays");
        detail.erase("replay");
        CHECK(boost::json::value(detail) == boost::json::parse(to_json(*storage.get_request(id))));
    }

    SECTION("a cursor only pages the list that issued it") {
        auto first = json_of(get(dashboard, p + "/api/requests?limit=1"));
        const std::string cursor(first.at("next_cursor").as_string());
        CHECK(get(dashboard, p + "/api/requests?limit=1&cursor=" + cursor).result() == http::status::ok);
        auto refused = [&](const std::string& target, const std::string& says) {
            INFO(target);
            auto res = get(dashboard, p + target);
            CHECK(res.result() == http::status::bad_request);
            auto body = json_of(res);
            CHECK(body.at("parameter") == "cursor");
            CHECK_THAT(std::string(body.at("message").as_string()), Catch::Contains(says));
        };
        refused("/api/conflicts?cursor=" + cursor, "issued for another list");
        refused("/api/failures?cursor=" + cursor, "issued for another list");
        refused("/api/clients?cursor=" + cursor, "issued for another list");
        std::string altered = cursor;
        altered[altered.size() - 1] = altered.back() == '0' ? '1' : '0';
        refused("/api/requests?cursor=" + altered, "was altered");
        // The storage's own cursor, well formed but not issued by this API.
        refused("/api/requests?cursor=" + encode_cursor({123, "abc"}), "not a cursor of this API");
    }

    SECTION("mutations of a request and one mutation") {
        auto rejected = storage.list_requests({.outcome = RequestOutcome::rejected}, {}).items.at(0);
        auto list = json_of(get(dashboard, p + "/api/requests/" + rejected.id + "/mutations"));
        REQUIRE(list.at("items").as_array().size() == 1);
        const std::string mid(list.at("items").at(0).at("id").as_string());
        auto detail = json_of(get(dashboard, p + "/api/mutations/" + mid));
        CHECK(detail.at("outcome") == "rejected");
        CHECK(detail.at("validation").at("title").at(0) == "The title field is required.");
        CHECK(get(dashboard, p + "/api/mutations/" + mid).body().find("hunter2") == std::string::npos);
        CHECK(json_of(get(dashboard, p + "/api/requests/" + rejected.id + "/mutations?outcome=applied"))
                  .at("items").as_array().empty());
        CHECK(get(dashboard, p + "/api/requests/nope/mutations").result() == http::status::not_found);
    }

    SECTION("conflicts, failures, clients, metrics") {
        auto conflicts = json_of(get(dashboard, p + "/api/conflicts"));
        REQUIRE(conflicts.at("items").as_array().size() == 1);
        const std::string cid(conflicts.at("items").at(0).at("id").as_string());
        CHECK(json_of(get(dashboard, p + "/api/conflicts/" + cid)).at("id") == cid.c_str());
        CHECK(json_of(get(dashboard, p + "/api/conflicts/patterns")).at("total") == 1);
        CHECK(json_of(get(dashboard, p + "/api/conflicts?client_id=nobody")).at("items").as_array().empty());

        auto groups = json_of(get(dashboard, p + "/api/failures/groups"));
        CHECK(groups.at("items").as_array().size() == 2);  // the validation failure, the invalid body
        const std::string fp(groups.at("items").at(0).at("fingerprint").as_string());
        CHECK(json_of(get(dashboard, p + "/api/failures/groups/" + fp)).at("fingerprint") == fp.c_str());
        auto elsewhere = get(dashboard, p + "/api/failures/groups/" + fp + "?instance=nope");
        CHECK(elsewhere.result() == http::status::not_found);
        CHECK_THAT(std::string(json_of(elsewhere).at("message").as_string()),
                   Catch::Contains("has no failures on instance 'nope'"));
        CHECK(json_of(get(dashboard, p + "/api/failures?fingerprint=" + fp)).at("items").as_array().size() == 1);
        CHECK(json_of(get(dashboard, p + "/api/failures?kind=request")).at("items").as_array().size() == 1);
        CHECK(json_of(get(dashboard, p + "/api/failures/poison")).at("items").as_array().empty());

        auto clients = json_of(get(dashboard, p + "/api/clients"));
        CHECK(clients.at("items").as_array().size() == 4);
        CHECK(json_of(get(dashboard, p + "/api/clients/c-bad")).at("client_id") == "c-bad");
        CHECK(get(dashboard, p + "/api/clients/c-nobody").result() == http::status::not_found);

        auto metrics = json_of(get(dashboard, p + "/metrics?window=1h"));
        CHECK(metrics.at("window") == "1h");
        CHECK(metrics.at("throughput").at("requests") == storage.count_requests());
        CHECK(metrics.at("recorder").at("written") == storage.count_requests());
        auto prom = get(dashboard, p + "/metrics/prometheus");
        CHECK(prom[http::field::content_type].starts_with("application/openmetrics-text"));
        CHECK(prom.body().ends_with("# EOF\n"));
    }
}

TEST_CASE("dashboard: bad parameters, unknown routes and methods get JSON errors naming the culprit", "[http]") {
    auto observer = observed_traffic();
    beast::Dashboard dashboard(*observer);
    const std::string p = "/tether/dashboard";
    struct Case {
        std::string target, parameter;
    };
    for (const Case& c : std::vector<Case>{{"/api/requests?limit=0", "limit"},
                                           {"/api/requests?limit=501", "limit"},
                                           {"/api/requests?limit=ten", "limit"},
                                           {"/api/requests?kind=sideways", "kind"},
                                           {"/api/requests?outcome=meh", "outcome"},
                                           {"/api/requests?from=yesterday", "from"},
                                           {"/api/requests?from=2026-11-24T10:00:00", "from"},
                                           {"/api/requests?from=2026-11-25T00:00Z&to=2026-11-24T00:00Z", "to"},
                                           {"/api/requests?cursor=garbage", "cursor"},
                                           {"/api/requests?limt=5", "limt"},
                                           {"/api/requests?%C3%A9%00%0A=1", "???\?"},
                                           {"/api/requests?limit=5&limit=6", "limit"},
                                           {"/api/requests?failed=maybe", "failed"},
                                           {"/api/requests?failed=0", "failed"},
                                           {"/api/conflicts?resolution=coin_toss", "resolution"},
                                           {"/api/conflicts/patterns?top=1000", "top"},
                                           {"/api/failures?kind=both", "kind"},
                                           {"/api/failures/groups?sort=random", "sort"},
                                           {"/api/clients?stuck=2", "stuck"},
                                           {"/metrics?window=2h", "window"},
                                           {"/api/requests/x/mutations?conflicted=yes", "conflicted"}}) {
        INFO(c.target);
        auto res = get(dashboard, p + c.target);
        CHECK(res.result() == http::status::bad_request);
        auto body = json_of(res);
        CHECK(body.at("parameter") == c.parameter.c_str());
        CHECK_FALSE(body.at("message").as_string().empty());
    }

    // Messages echo the value they refused, and explain the usual cause of a bad time.
    auto message = [&](const std::string& target) {
        return std::string(json_of(get(dashboard, p + target)).at("message").as_string());
    };
    CHECK_THAT(message("/api/requests?limit=ten"), Catch::Contains("got 'ten'"));
    CHECK_THAT(message("/api/requests?kind=sideways"), Catch::Contains("got 'sideways'"));
    CHECK_THAT(message("/api/requests?kind=" + std::string(100, 'x')), Catch::Contains("got '" + std::string(61, 'x') + "...'"));
    auto long_name = json_of(get(dashboard, p + "/api/requests?" + std::string(100, 'q') + "=1"));
    CHECK(long_name.at("parameter") == std::string(64, 'q').c_str());  // echoed, never longer than 64
    CHECK_THAT(message("/api/conflicts?conflicted=yes"), Catch::Contains("unknown parameter"));
    const auto plus = message("/api/requests?from=2026-11-26T17:58:12+01:00");
    CHECK_THAT(plus, Catch::Contains("got '2026-11-26T17:58:12 01:00'") && Catch::Contains("%2B"));
    // Refused further in (by the core), worded the same way.
    CHECK_THAT(message("/api/conflicts/patterns?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"),
               Catch::StartsWith("query parameter 'to': "));

    auto unknown = get(dashboard, p + "/api/nothing");
    CHECK(unknown.result() == http::status::not_found);
    CHECK(error_code_of(unknown) == "not_found");
    CHECK(get(dashboard, p + "/api/requests/").result() == http::status::not_found);
    CHECK(get(dashboard, p + "/api/requests/01ZZZZZZZZZZZZZZZZZZZZZZZZ").result() == http::status::not_found);
    CHECK(get(dashboard, p + "/api/mutations/" + std::string(300, 'x')).result() == http::status::not_found);

    // HEAD answers never carry a body, errors and refusals included.
    for (const std::string t : {"/api/nothing", "/api/requests?limit=0", "/api/events", "/"}) {
        auto head = call(dashboard, {.method = http::verb::head, .target = p + t});
        INFO(t);
        CHECK(head.body().empty());
        CHECK(head[http::field::content_length] != "0");
        CHECK(call(dashboard, {.method = http::verb::head, .target = p + t, .remote = "10.1.1.1"}).body().empty());
    }

    auto post = call(dashboard, {.method = http::verb::post, .target = p + "/api/requests"});
    CHECK(post.result() == http::status::method_not_allowed);
    CHECK(post[http::field::allow] == "GET, HEAD");
    CHECK(call(dashboard, {.method = http::verb::delete_, .target = p + "/"}).result() == http::status::method_not_allowed);
    CHECK(call(dashboard, {.method = http::verb::put, .target = p + "/api/events"}).result() ==
          http::status::method_not_allowed);

    beast::DashboardOptions small;
    small.body_limit = 16;
    small.target_limit = 100;
    beast::Dashboard limited(*observer, small);
    CHECK(call(limited, {.target = p + "/api/requests", .body = std::string(17, 'x')}).result() ==
          http::status::payload_too_large);
    CHECK(get(limited, p + "/api/requests?client_id=" + std::string(100, 'c')).result() == http::status::uri_too_long);
    CHECK(get(dashboard, p + "/api/requests?client_id=%zz").result() == http::status::bad_request);
    CHECK(get(dashboard, p + "/api/requests?client_id=" + std::string(300, 'c')).result() == http::status::bad_request);
}

TEST_CASE("dashboard: loopback only by default; bearer, basic and predicate middleware", "[http][auth]") {
    auto observer = Observer::builder().build();
    const std::string target = "/tether/dashboard/api/requests";

    SECTION("no middleware: loopback clients only") {
        beast::Dashboard dashboard(*observer);
        for (const char* ok : {"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"})
            CHECK(call(dashboard, {.target = target, .remote = ok}).result() == http::status::ok);
        for (const char* remote : {"10.0.0.5", "192.168.1.20", "::ffff:10.0.0.5", "2001:db8::1"}) {
            auto res = call(dashboard, {.target = target, .remote = remote});
            CHECK(res.result() == http::status::forbidden);
            CHECK(error_code_of(res) == "forbidden");
        }
        // The page and its assets are data-free but protected all the same.
        CHECK(call(dashboard, {.target = "/tether/dashboard/", .remote = "10.0.0.5"}).result() == http::status::forbidden);
        CHECK(dashboard.stats().denied == 5);
    }

    SECTION("bearer token: header, sign-in link, cookie") {
        beast::DashboardOptions options;
        options.middleware = {beast::bearer_token("s3cret-token", "ops")};
        beast::Dashboard dashboard(*observer, options);
        const std::string remote = "10.0.0.5";  // configured middleware replaces the loopback rule

        auto missing = call(dashboard, {.target = target, .remote = remote});
        CHECK(missing.result() == http::status::unauthorized);
        CHECK(missing[http::field::www_authenticate] == "Bearer realm=\"tether dashboard\"");
        auto wrong = call(dashboard, {.target = target, .headers = {{"Authorization", "Bearer s3cret-tokeN"}}, .remote = remote});
        CHECK(wrong.result() == http::status::unauthorized);
        CHECK(wrong[http::field::www_authenticate].find("invalid_token") != boost::beast::string_view::npos);
        CHECK(wrong.body().find("s3cret") == std::string::npos);
        CHECK(call(dashboard, {.target = target, .headers = {{"Authorization", "Bearer s3cret-token"}}, .remote = remote})
                  .result() == http::status::ok);
        CHECK(call(dashboard, {.target = target, .headers = {{"Authorization", "bearer  s3cret-token "}}, .remote = remote})
                  .result() == http::status::ok);
        CHECK(call(dashboard, {.target = target, .headers = {{"Authorization", "Basic czNjcmV0LXRva2Vu"}}, .remote = remote})
                  .result() == http::status::unauthorized);

        auto signin = call(dashboard, {.target = "/tether/dashboard/?token=s3cret-token", .remote = remote});
        CHECK(signin.result() == http::status::see_other);
        CHECK(signin[http::field::location] == "/tether/dashboard/");
        const std::string cookie(signin[http::field::set_cookie]);
        CHECK(cookie.find("tether_token=s3cret-token") == 0);
        CHECK(cookie.find("HttpOnly") != std::string::npos);
        CHECK(cookie.find("SameSite=Lax") != std::string::npos);
        CHECK(call(dashboard, {.target = "/tether/dashboard/?token=guess", .remote = remote}).result() ==
              http::status::unauthorized);
        CHECK(call(dashboard, {.target = target, .headers = {{"Cookie", "a=b; tether_token=s3cret-token"}}, .remote = remote})
                  .result() == http::status::ok);
        CHECK(call(dashboard, {.target = target, .headers = {{"Cookie", "tether_token=nope"}}, .remote = remote})
                  .result() == http::status::unauthorized);
        // The token is never accepted from the query of an API route.
        CHECK(call(dashboard, {.target = target + "?token=s3cret-token", .remote = remote}).result() ==
              http::status::bad_request);

        CHECK_THROWS_AS(beast::bearer_token(""), std::invalid_argument);
        CHECK_THROWS_AS(beast::bearer_token("has space"), std::invalid_argument);
        CHECK_THROWS_AS(beast::bearer_token("semi;colon"), std::invalid_argument);
    }

    SECTION("sign-in link: the cookie holds exactly the verified, decoded token, and only a link sets it") {
        beast::DashboardOptions options;
        options.middleware = {beast::bearer_token("a+b/c=", "ops")};
        options.secure_cookie = true;
        beast::Dashboard dashboard(*observer, options);
        const std::string page = "/tether/dashboard/";
        // Percent-encoded as any query value: '+' travels as %2B ...
        auto signin = call(dashboard, {.target = page + "?token=a%2Bb%2Fc%3D"});
        CHECK(signin.result() == http::status::see_other);
        CHECK(std::string(signin[http::field::set_cookie]).find("tether_token=a+b/c=;") == 0);
        CHECK(std::string(signin[http::field::set_cookie]).find("; Secure") != std::string::npos);
        // ... and a raw '+' is a space, so that link is wrong: 401, no cookie.
        auto raw = call(dashboard, {.target = page + "?token=a+b/c="});
        CHECK(raw.result() == http::status::unauthorized);
        CHECK(raw[http::field::set_cookie].empty());
        // Encoded ordinary characters decode before the comparison ("%61" is 'a').
        CHECK(call(dashboard, {.target = page + "?token=%61%2Bb%2Fc%3D"}).result() == http::status::see_other);

        // Another credential allowing the request never lets a junk link write the cookie.
        const std::pair<std::string, std::string> good_cookie{"Cookie", "tether_token=a+b/c="};
        auto with_header = call(dashboard, {.target = page + "?token=junk",
                                            .headers = {{"Authorization", "Bearer a+b/c="}}});
        CHECK(with_header.result() == http::status::ok);
        CHECK(with_header[http::field::set_cookie].empty());
        auto head = call(dashboard, {.method = http::verb::head, .target = page + "?token=junk", .headers = {good_cookie}});
        CHECK(head.result() == http::status::ok);
        CHECK(head[http::field::set_cookie].empty());
        auto junk_link = call(dashboard, {.target = page + "?token=junk", .headers = {good_cookie}});
        CHECK(junk_link.result() == http::status::unauthorized);  // the link is what gets checked
        CHECK(junk_link[http::field::set_cookie].empty());
        // A valid link while a header is sent: the header decides, the page is served as is.
        auto both = call(dashboard, {.target = page + "?token=a%2Bb%2Fc%3D", .headers = {{"Authorization", "Bearer a+b/c="}}});
        CHECK(both.result() == http::status::ok);
        CHECK(both[http::field::set_cookie].empty());
    }

    SECTION("a stale cookie passes, so the next middleware still offers its challenge") {
        beast::DashboardOptions options;
        options.middleware = {beast::bearer_token("new-token"), beast::basic_auth("ops", "s3cret")};
        beast::Dashboard dashboard(*observer, options);
        const std::pair<std::string, std::string> stale{"Cookie", "tether_token=old-token"};
        auto prompt = call(dashboard, {.target = target, .headers = {stale}});
        CHECK(prompt.result() == http::status::unauthorized);
        CHECK(std::string(prompt[http::field::www_authenticate]).find("Basic realm=") != std::string::npos);
        CHECK(call(dashboard, {.target = target, .headers = {stale, {"Authorization", "Basic b3BzOnMzY3JldA=="}}})
                  .result() == http::status::ok);
        // Without a cookie default, Secure is off (plain-HTTP loopback setups keep working).
        beast::DashboardOptions plain;
        plain.middleware = {beast::bearer_token("new-token")};
        beast::Dashboard plain_dashboard(*observer, plain);
        auto signin = call(plain_dashboard, {.target = "/tether/dashboard/?token=new-token"});
        CHECK(std::string(signin[http::field::set_cookie]).find("Secure") == std::string::npos);
    }

    SECTION("loopback: a Host that is not a loopback name is refused (DNS rebinding)") {
        beast::Dashboard dashboard(*observer);
        for (const char* host : {"127.0.0.1:8080", "localhost", "LOCALHOST:3000", "app.localhost:8080", "[::1]:8080",
                                 "127.1.2.3", "::1"})
            CHECK(call(dashboard, {.target = target, .headers = {{"Host", host}}}).result() == http::status::ok);
        for (const char* host : {"evil.example", "evil.example:8080", "localhost.evil.example", "10.0.0.1:8080",
                                 "[2001:db8::1]:80", "127.0.0.1.evil.example"}) {
            auto res = call(dashboard, {.target = target, .headers = {{"Host", host}}});
            INFO(host);
            CHECK(res.result() == http::status::forbidden);
            CHECK(res.body().find("DNS rebinding") != std::string::npos);
        }
        beast::DashboardOptions named;
        named.middleware = {beast::loopback_only({"Sync-Box.internal"})};
        beast::Dashboard with_name(*observer, named);
        CHECK(call(with_name, {.target = target, .headers = {{"Host", "sync-box.INTERNAL:8080"}}}).result() ==
              http::status::ok);
        CHECK(call(with_name, {.target = target, .headers = {{"Host", "other.internal"}}}).result() ==
              http::status::forbidden);
    }

    SECTION("basic auth and a chain offering both challenges") {
        beast::DashboardOptions options;
        options.middleware = {beast::bearer_token("tok"), beast::basic_auth("ops", "pa:ss")};
        beast::Dashboard dashboard(*observer, options);
        auto none = call(dashboard, {.target = target});
        CHECK(none.result() == http::status::unauthorized);
        const std::string challenges(none[http::field::www_authenticate]);
        CHECK(challenges.find("Bearer") != std::string::npos);
        CHECK(challenges.find("Basic realm=\"tether dashboard\"") != std::string::npos);
        // "ops:pa:ss" and "ops:wrong" in base64.
        CHECK(call(dashboard, {.target = target, .headers = {{"Authorization", "Basic b3BzOnBhOnNz"}}}).result() ==
              http::status::ok);
        CHECK(call(dashboard, {.target = target, .headers = {{"Authorization", "Basic b3BzOndyb25n"}}}).result() ==
              http::status::unauthorized);
        CHECK(call(dashboard, {.target = target, .headers = {{"Authorization", "Basic !!!"}}}).result() ==
              http::status::unauthorized);
        CHECK(call(dashboard, {.target = target, .headers = {{"Authorization", "Basic b3BzOnBhOnNz="}}}).result() ==
              http::status::unauthorized);  // padding where none belongs

        // A padded encoding ("ops:s3cret" is "b3BzOnMzY3JldA==").
        beast::DashboardOptions padded;
        padded.middleware = {beast::basic_auth("ops", "s3cret")};
        beast::Dashboard with_padding(*observer, padded);
        CHECK(call(with_padding, {.target = target, .headers = {{"Authorization", "Basic b3BzOnMzY3JldA=="}}}).result() ==
              http::status::ok);
        CHECK_THROWS_AS(beast::basic_auth("", "x"), std::invalid_argument);
        CHECK_THROWS_AS(beast::basic_auth("a:b", "x"), std::invalid_argument);
    }

    SECTION("custom predicate") {
        beast::DashboardOptions options;
        options.middleware = {beast::predicate([](const beast::RequestView& r) -> std::optional<beast::Identity> {
            if (r.message["X-Team"] == "sync") return beast::Identity{"team", "sync"};
            return std::nullopt;
        })};
        beast::Dashboard dashboard(*observer, options);
        CHECK(call(dashboard, {.target = target, .headers = {{"X-Team", "sync"}}}).result() == http::status::ok);
        CHECK(call(dashboard, {.target = target, .headers = {{"X-Team", "web"}}}).result() == http::status::forbidden);
    }

    SECTION("constant-time comparison") {
        CHECK(beast::constant_time_equals("abc", "abc"));
        CHECK_FALSE(beast::constant_time_equals("abd", "abc"));
        CHECK_FALSE(beast::constant_time_equals("abcabc", "abc"));
        CHECK_FALSE(beast::constant_time_equals("ab", "abc"));
        CHECK_FALSE(beast::constant_time_equals("", ""));
        CHECK_FALSE(beast::constant_time_equals("", "abc"));
    }
}

TEST_CASE("dashboard: storage errors answer 503 with a fixed message; the detail goes to the error handler",
          "[http]") {
    struct Collect final : ErrorHandler {
        std::mutex mutex;
        std::vector<ErrorEvent> events;
        void on_error(const ErrorEvent& e) noexcept override {
            std::lock_guard lock(mutex);
            events.push_back(e);
        }
    };
    auto errors = std::make_shared<Collect>();
    auto storage = std::make_shared<test::FaultyStorage>(make_memory_storage());
    auto observer = Observer::builder().storage(storage).error_handler(errors).build();
    beast::Dashboard dashboard(*observer);
    storage->failing_reads = true;

    auto res = get(dashboard, "/tether/dashboard/api/requests?client_id=c-1");
    CHECK(res.result() == http::status::service_unavailable);
    CHECK(res[http::field::retry_after] == "5");
    CHECK(error_code_of(res) == "storage_unavailable");
    CHECK(res.body().find("secret-dir") == std::string::npos);  // paths, hosts, table names stay server-side
    std::lock_guard lock(errors->mutex);
    REQUIRE(errors->events.size() == 1);
    const auto& event = errors->events.front();
    CHECK(event.source == ErrorSource::dashboard);
    CHECK(std::string(to_string(event.source)) == "dashboard");
    CHECK(event.message.find("GET /tether/dashboard/api/requests: ") == 0);
    CHECK(event.message.find("secret-dir") != std::string::npos);
    CHECK(event.message.find("client_id") == std::string::npos);  // the query (sign-in tokens) is never logged
}
