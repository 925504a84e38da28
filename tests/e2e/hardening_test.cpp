// The example server under hostile clients: idle and slow connections are cut, and no secret
// (dashboard token, client credentials, payload secrets) ever reaches a log line, the API or
// the database.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/temp_dir.hpp"

using namespace tether::e2e;
using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// True once the server has closed `socket` (a read returns EOF or an error).
bool closed_by_server(tcp::socket& socket) {
    char byte;
    boost::system::error_code ec;
    socket.read_some(net::buffer(&byte, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
}

const std::string secrets[] = {"Dash-Token-5f2a9c", "Client-Bearer-77e1", "Cookie-Session-3b8d", "Payload-Pass-c41e",
                               "Broken-Body-Secret-9d0f", "Wrong-Token-a6b2"};

}  // namespace

TEST_CASE("hardening: idle and slow connections are closed after --idle-timeout", "[hardening]") {
    tether::test::TempDir dir;
    ExampleServer server(dir.path().string(), {"--idle-timeout", "1"});
    net::io_context io;

    // Connects and says nothing.
    tcp::socket idle(io);
    idle.connect({net::ip::make_address("127.0.0.1"), server.port()});
    idle.set_option(net::socket_base::receive_buffer_size(4096));
    const auto started = std::chrono::steady_clock::now();
    CHECK(closed_by_server(idle));  // blocks until the server hangs up
    CHECK(std::chrono::steady_clock::now() - started < 30s);

    // Sends a header line every 100 ms forever (slowloris): cut although bytes keep coming.
    tcp::socket slow(io);
    slow.connect({net::ip::make_address("127.0.0.1"), server.port()});
    net::write(slow, net::buffer(std::string("POST /sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\n")));
    std::atomic<bool> gave_up{false}, cut{false}, reader_done{false};
    std::thread reader([&] {
        const bool closed = closed_by_server(slow);
        if (!gave_up) cut = closed;
        reader_done = true;
    });
    bool write_failed = false;
    for (int i = 0; i < 300 && !reader_done && !write_failed; ++i) {  // up to 30 s of dribbling
        std::this_thread::sleep_for(100ms);  // the attack's own pace, not a wait for the server
        boost::system::error_code ec;
        net::write(slow, net::buffer("X-Slow-" + std::to_string(i) + ": x\r\n"), ec);
        write_failed = ec.failed();  // the server closed: the reader sees it too
    }
    if (!reader_done && !write_failed) {  // never cut: unblock the reader and fail below
        gave_up = true;
        boost::system::error_code ignored;
        slow.shutdown(tcp::socket::shutdown_both, ignored);
    }
    reader.join();
    CHECK(cut);

    // The server is unharmed and still answers.
    CHECK(http_request(server.port(), "GET", "/tether/dashboard/api/requests").status == 200);
}

TEST_CASE("hardening: no secret in any log line, API answer or the database", "[hardening][redaction]") {
    tether::test::TempDir dir;
    auto server = std::make_unique<ExampleServer>(dir.path().string(), std::vector<std::string>{"--token", secrets[0]});
    const std::string push =
        R"({"client_id":"c-secret","mutations":[{"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S3T",)"
        R"("entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S3A","model":"Task","operation":"create",)"
        R"("payload":{"title":"t","password":")" + secrets[3] + R"("},"version":1,"timestamp":1732500000123}]})";
    const Headers credentials = {{"Authorization", "Bearer " + secrets[1]},
                                 {"Cookie", "session=" + secrets[2]},
                                 {"X-Tether-Client-Version", "1.0.0"}};
    CHECK(http_request(server->port(), "POST", "/sync/push", push, credentials).status == 200);
    CHECK(http_request(server->port(), "POST", "/sync/push",
                       R"({"client_id":"c-secret","password":")" + secrets[4] + R"(","mutations":[)", credentials)
              .status == 400);

    // The dashboard: a wrong token, then the right one by header and by sign-in link.
    CHECK(http_request(server->port(), "GET", "/tether/dashboard/api/requests",
                       {}, {{"Authorization", "Bearer " + secrets[5]}}).status == 401);
    CHECK(http_request(server->port(), "GET", "/tether/dashboard/?token=" + secrets[5]).status == 401);
    CHECK(http_request(server->port(), "GET", "/tether/dashboard/?token=" + secrets[0]).status == 303);
    const Headers auth = {{"Authorization", "Bearer " + std::string(secrets[0])}};

    // Both pushes are stored; their headers and bodies show markers, never the values.
    REQUIRE(eventually(
        [&] {
            auto r = http_request(server->port(), "GET", "/tether/dashboard/api/requests?client_id=c-secret", {}, auth);
            return r.status == 200 && json::parse(r.body).at("items").as_array().size() == 2;
        },
        30s));
    const auto list = http_request(server->port(), "GET", "/tether/dashboard/api/requests?client_id=c-secret", {}, auth);
    std::string api = list.body;
    const json::value listed = json::parse(list.body);
    for (const auto& item : listed.at("items").as_array()) {
        const std::string id(item.at("id").as_string());
        const auto detail = http_request(server->port(), "GET", "/tether/dashboard/api/requests/" + id, {}, auth);
        REQUIRE(detail.status == 200);
        api += detail.body;
        api += http_request(server->port(), "GET", "/tether/dashboard/api/requests/" + id + "/mutations", {}, auth).body;
    }
    CHECK(api.find("[REDACTED]") != std::string::npos);
    CHECK(api.find("\"Authorization\"") != std::string::npos);  // the header is shown as sent...
    for (const auto& secret : secrets) {
        INFO(secret);
        CHECK(api.find(secret) == std::string::npos);  // ...its value never
    }

    const auto status = server->terminate();
    REQUIRE(status.has_value());
    const std::string logs = server->process().out() + server->process().err();
    for (const auto& secret : secrets) {
        INFO(secret << " in the server's output:\n" << logs);
        CHECK(logs.find(secret) == std::string::npos);
    }
    // Nor in any file the observer wrote (main database, WAL, shared memory).
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        if (entry.path().filename().string().find("observer") == std::string::npos) continue;
        const std::string bytes = read_file(entry.path().string());
        for (const auto& secret : secrets) {
            INFO(secret << " in " << entry.path());
            CHECK(bytes.find(secret) == std::string::npos);
        }
    }
}
