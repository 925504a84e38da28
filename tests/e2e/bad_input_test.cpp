// Bad input to the examples: flags, a busy port, an unreachable server, malformed pushes.
// A bad input gets a clear message and the right exit status or HTTP status, and malformed
// sync requests are still captured: the dashboard shows them as failed requests.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/temp_dir.hpp"

using namespace tether::e2e;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct Exit {
    int status;
    std::string err;
};

Exit run_to_exit(const char* binary, std::vector<std::string> args) {
    Process p(binary, std::move(args));
    const auto status = p.wait(exit_timeout);
    INFO(p.describe());
    REQUIRE(status.has_value());
    return {*status, p.err()};
}

json::object parse_object(const std::string& text) {
    std::error_code ec;
    auto v = json::parse(text, ec);
    INFO(text);
    REQUIRE(!ec);
    REQUIRE(v.is_object());
    return v.as_object();
}

const std::string valid_mutation =
    R"({"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S3T","entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S3A","model":"Task",)"
    R"("operation":"create","payload":{"title":"Buy milk","done":false},"version":1,"timestamp":1732500000123})";

}  // namespace

TEST_CASE("tether-example-server: a bad flag exits 2 with a message naming the flag") {
    tether::test::TempDir dir;
    const std::string data = dir.file("app.db"), observer = dir.file("observer.db");
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--port", "http"}, "--port"},
        {{"--port", "70000"}, "--port"},
        {{"--threads"}, "--threads"},
        {{"--threads", "0"}, "--threads"},
        {{"--no-observer=yes"}, "--no-observer"},
        {{"--bogus"}, "--bogus"},
        {{"--idle-timeout", "0"}, "--idle-timeout"},
        {{"--config", dir.file("missing.json")}, "missing.json"},
        {{"--config", dir.file("broken.json")}, "line 2, column"},
        {{"--config", dir.file("wrong.json")}, "retention.max_requests"},
    };
    std::ofstream(dir.file("broken.json")) << "{\n  \"instance\": }\n";
    std::ofstream(dir.file("wrong.json")) << R"({"retention": {"max_requests": "many"}})";
    for (const auto& [flags, named] : cases) {
        std::vector<std::string> args = {"--data", data, "--observer-db", observer};
        args.insert(args.end(), flags.begin(), flags.end());
        const auto r = run_to_exit(server_binary, args);
        INFO("flags ending with " << flags.front() << ": stderr " << r.err);
        CHECK(r.status == 2);
        CHECK(r.err.find(named) != std::string::npos);
        CHECK(r.err.find("tether-example-server:") != std::string::npos);
    }
}

TEST_CASE("tether-example-server: a port already in use exits 1 with a clear message") {
    tether::test::TempDir dir;
    net::io_context ioc;
    tcp::acceptor busy(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));  // bound and listening
    const std::string port = std::to_string(busy.local_endpoint().port());
    const auto r = run_to_exit(server_binary, {"--host", "127.0.0.1", "--port", port, "--data", dir.file("app.db"),
                                               "--observer-db", dir.file("observer.db")});
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("cannot listen on 127.0.0.1:" + port) != std::string::npos);
    CHECK(r.err.find("in use") != std::string::npos);
}

TEST_CASE("tether-example-server: the observer database a config file names is the one opened and reported") {
    tether::test::TempDir dir;
    const std::string unreachable = dir.file("no-such-dir/observer.db");
    std::ofstream(dir.file("elsewhere.json")) << R"({"storage": {"url": ")" << unreachable << R"("}})";
    const auto r = run_to_exit(server_binary, {"--port", "0", "--data", dir.file("app.db"), "--config", dir.file("elsewhere.json")});
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("cannot open the observer database \"" + unreachable + "\"") != std::string::npos);
}

TEST_CASE("tether-fleet: a closed port exits 1, a bad flag exits 2") {
    tether::test::TempDir dir;
    net::io_context ioc;
    // Bound but not listening: the port is ours (no other process can take it) and every
    // connection attempt is refused.
    tcp::socket closed(ioc);
    closed.open(tcp::v4());
    closed.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const std::string url = "http://127.0.0.1:" + std::to_string(closed.local_endpoint().port());

    const auto r = run_to_exit(fleet_binary, {"--url", url, "--requests", "5", "--summary-json", dir.file("s.json")});
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("unreachable") != std::string::npos);
    CHECK(r.err.find(url) != std::string::npos);

    const auto bad = run_to_exit(fleet_binary, {"--url", url, "--requests", "many"});
    INFO(bad.err);
    CHECK(bad.status == 2);
    CHECK(bad.err.find("--requests") != std::string::npos);
}

TEST_CASE("malformed pushes get a 4xx JSON error and show on the dashboard as failed requests") {
    tether::test::TempDir dir;
    ExampleServer server(dir.path().string());
    const Headers headers = {{"X-Tether-Client-Version", "9.9.9"}};

    struct Case {
        const char* what;
        std::string body;
        int status;
        const char* error;
        const char* mentions;  // what the message must point at
    };
    std::string without_model = valid_mutation;
    without_model.replace(without_model.find(R"("model":"Task",)"), 15, "");
    const std::vector<Case> cases = {
        {"truncated JSON", R"({"client_id":"c-bad","mutations":[{"mutation_id":"01JD3Z6Q8)", 400, "invalid_json",
         "not valid JSON"},
        {"mutations not an array", R"({"client_id":"c-bad","mutations":{"0":{"model":"Task"}}})", 422,
         "invalid_request", "mutations"},
        {"missing client_id", R"({"mutations":[)" + valid_mutation + "]}", 422, "invalid_request", "client_id"},
        {"a mutation without model", R"({"client_id":"c-bad","mutations":[)" + without_model + "]}", 422,
         "invalid_mutation", "mutations[0].model"},
        {"a body that is not an object", "[1,2,3]", 422, "invalid_request", "expected an object"},
    };
    for (const auto& c : cases) {
        const auto reply = http_request(server.port(), "POST", "/sync/push", c.body, headers);
        INFO(c.what << ": HTTP " << reply.status << " " << reply.body);
        CHECK(reply.status == c.status);
        CHECK(reply.content_type == "application/json");
        const auto doc = parse_object(reply.body);
        CHECK(doc.at("error").as_string() == c.error);
        CHECK(doc.at("message").as_string().find(c.mentions) != json::string::npos);
    }

    // An unknown model is answered mutation by mutation (DESIGN §1): 200, rejected with `error`.
    std::string comment = valid_mutation;
    comment.replace(comment.find(R"("model":"Task")"), 14, R"("model":"Comment")");
    const auto unknown = http_request(server.port(), "POST", "/sync/push",
                                      R"({"client_id":"c-bad","mutations":[)" + comment + "]}", headers);
    INFO("unknown model: " << unknown.body);
    CHECK(unknown.status == 200);
    const auto answer = parse_object(unknown.body);
    REQUIRE(answer.at("rejected").as_array().size() == 1);
    const auto& rejection = answer.at("rejected").as_array()[0].as_object();
    CHECK(rejection.at("reason").as_string() == "error");
    CHECK(rejection.at("data").at("message").as_string().find("\"Comment\" is not a known model") !=
          json::string::npos);

    // The only request that succeeds, and a method the sync routes do not serve (not recorded).
    const auto good = http_request(server.port(), "POST", "/sync/push",
                                   R"({"client_id":"c-good","mutations":[)" + valid_mutation + "]}", headers);
    CHECK(good.status == 200);
    const auto wrong_method = http_request(server.port(), "GET", "/sync/push");
    CHECK(wrong_method.status == 405);
    CHECK(parse_object(wrong_method.body).at("error").as_string() == "method_not_allowed");

    const auto metrics = server.await_recorded(7);
    INFO(brief(metrics));
    CHECK(count_at(metrics, "/recorder/offered") == 7);
    CHECK(count_at(metrics, "/recorder/dropped") == 0);
    CHECK(count_at(metrics, "/throughput/requests") == 7);
    CHECK(count_at(metrics, "/failed_requests") == 6);

    const std::string requests = std::string(dashboard_prefix) + "/api/requests";
    const auto failed = get_all(server.port(), requests + "?failed=1");
    const auto succeeded = get_all(server.port(), requests + "?outcome=ok");
    REQUIRE(failed.size() == 6);
    REQUIRE(succeeded.size() == 1);
    CHECK(succeeded[0].at("client_id").as_string() == "c-good");
    std::map<std::pair<int, std::string>, int> seen;  // (status, outcome) → requests
    for (const auto& r : failed) {
        INFO(json::serialize(r));
        CHECK(r.at("kind").as_string() == "push");
        CHECK(r.at("failed").as_bool());
        ++seen[{r.at("http_status").to_number<int>(), std::string(r.at("outcome").as_string())}];
        if (r.at("http_status").to_number<int>() == 400) {
            // The unparseable body is kept, flagged with its parse error.
            const auto detail = get_json(server.port(), requests + "/" + std::string(r.at("id").as_string()));
            CHECK(!detail.at("request_parse_error").is_null());
            CHECK(detail.at("request_body").as_string() == cases[0].body);
        }
        if (r.at("http_status").to_number<int>() == 422 && r.at("client_id").as_string() == "c-bad" &&
            r.at("mutations").to_number<int>() == 1) {
            // The push refused for its model-less mutation still carried that mutation.
            const auto muts = get_all(server.port(), requests + "/" + std::string(r.at("id").as_string()) + "/mutations");
            REQUIRE(muts.size() == 1);
            CHECK(muts[0].at("model").as_string() == "");
            CHECK(muts[0].at("outcome").as_string() == "unknown");
        }
    }
    const std::map<std::pair<int, std::string>, int> expected = {
        {{400, "error"}, 1}, {{422, "error"}, 4}, {{200, "rejected"}, 1}};
    CHECK(seen == expected);

    // Attributed where the body names the client, even when it is not JSON (the dashboard
    // recovers the client_id from the truncated text): c-bad's four pushes.
    const auto bad_client = get_json(server.port(), std::string(dashboard_prefix) + "/api/clients/c-bad");
    CHECK(count_at(bad_client, "/requests") == 4);
    CHECK(count_at(bad_client, "/failed_requests") == 4);

    // A dashboard URL over the dashboard's 8 KiB target limit gets its 414; headers over the
    // server's 16 KiB get 431. Both are JSON and name the limit.
    const auto long_url = http_request(server.port(), "GET",
                                       std::string(dashboard_prefix) + "/api/requests?client_id=" + std::string(9000, 'a'));
    CHECK(long_url.status == 414);
    CHECK(parse_object(long_url.body).at("error").as_string() == "uri_too_long");
    const auto big_headers = http_request(server.port(), "GET", "/healthz", {}, {{"X-Padding", std::string(20000, 'p')}});
    CHECK(big_headers.status == 431);
    CHECK(parse_object(big_headers.body).at("message").as_string().find("16384 bytes") != json::string::npos);

    CHECK(server.terminate() == 0);
}
