// Live updates over a real loopback connection: request and metrics events, the connection
// cap, bounded buffers for slow readers, and closing streams on shutdown.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "http_support.hpp"
#include "support/protocol.hpp"
#include "support/wait.hpp"
#include "tether/observer.hpp"

using namespace tether;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {
const std::string events = "/tether/dashboard/api/events";
}

TEST_CASE("events: a stream gets request summaries as they are stored and metric ticks", "[http][events]") {
    auto observer = Observer::builder().build();
    beast::DashboardOptions options;
    options.metrics_interval = 50ms;
    beast::Dashboard dashboard(*observer, options);
    test::LoopbackHost host(dashboard);

    test::Client client(host.port());
    auto head = client.get(events, true);
    CHECK(head.result() == http::status::ok);
    CHECK(head[http::field::content_type] == "text/event-stream; charset=utf-8");
    CHECK(head[http::field::cache_control] == "no-store");
    REQUIRE(test::eventually([&] { return dashboard.stats().event_streams == 1; }));

    Exchange ex = test::sample_push("c-live", 2, 42);
    ex.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S99";
    observer->recorder().record(std::move(ex));
    const bool got_request = client.read_until("event: request\ndata: {\"id\":\"01JD3Z6Q8Y9V4K2M1N0P7R5S99\"", 5s);
    INFO(client.received());
    CHECK(got_request);
    CHECK(client.read_until("event: metrics\ndata: {\"window\":\"24h\""));
    CHECK(dashboard.stats().events_sent >= 2);

    // Closing the streams (what a host does at shutdown) ends the connection.
    dashboard.close_event_streams();
    CHECK(client.closed_by_server());
    CHECK(test::eventually([&] { return dashboard.stats().event_streams == 0; }));
}

TEST_CASE("events: the connection cap refuses extra streams with 503 and frees slots", "[http][events]") {
    auto observer = Observer::builder().build();
    beast::DashboardOptions options;
    options.max_event_streams = 2;
    beast::Dashboard dashboard(*observer, options);
    test::LoopbackHost host(dashboard);

    auto first = std::make_unique<test::Client>(host.port());
    test::Client second(host.port());
    CHECK(first->get(events, true).result() == http::status::ok);
    CHECK(second.get(events, true).result() == http::status::ok);
    REQUIRE(test::eventually([&] { return dashboard.stats().event_streams == 2; }));

    test::Client third(host.port());
    auto refused = third.get(events);
    CHECK(refused.result() == http::status::service_unavailable);
    CHECK(refused[http::field::retry_after] == "30");
    CHECK(refused.body().find("too_many_streams") != std::string::npos);

    first.reset();  // the client leaves: its slot is freed
    REQUIRE(test::eventually([&] { return dashboard.stats().event_streams == 1; }));
    test::Client fourth(host.port());
    CHECK(fourth.get(events, true).result() == http::status::ok);
}

TEST_CASE("events: a reader that stops reading loses events instead of growing memory", "[http][events]") {
    auto observer = Observer::builder().build();
    beast::DashboardOptions options;
    options.event_buffer_bytes = 8 * 1024;
    beast::Dashboard dashboard(*observer, options);
    test::LoopbackHost host(dashboard, {.send_buffer = 4096});

    test::Client stalled(host.port(), /*receive_buffer=*/4096);
    CHECK(stalled.get(events, true).result() == http::status::ok);
    REQUIRE(test::eventually([&] { return dashboard.stats().event_streams == 1; }));

    // Far more than the kernel buffers and the 8 KiB queue hold while nobody reads.
    for (std::uint64_t i = 0; i < 2000; ++i) observer->recorder().record(test::sample_push("c-slow", 1, i));
    REQUIRE(observer->recorder().flush());
    REQUIRE(test::eventually([&] { return dashboard.stats().events_dropped > 0; }));

    // Once the reader catches up it is told how many events it missed.
    CHECK(stalled.read_until("event: dropped\ndata: {\"events\":"));
    CHECK(dashboard.stats().event_streams == 1);
}

TEST_CASE("events: streams follow the auth chain and only answer GET", "[http][events]") {
    auto observer = Observer::builder().build();
    beast::DashboardOptions options;
    options.middleware = {beast::bearer_token("tok")};
    beast::Dashboard dashboard(*observer, options);
    test::LoopbackHost host(dashboard);
    test::Client client(host.port());
    CHECK(client.get(events).result() == http::status::unauthorized);
    CHECK(dashboard.stats().event_streams == 0);
}

TEST_CASE("events: readers leaving while events are written never hurt the host", "[http][events]") {
    // Regression: a reader closing during a write used to corrupt the connection's queue.
    auto observer = Observer::builder().build();
    beast::Dashboard dashboard(*observer);
    test::LoopbackHost host(dashboard, {.threads = 2});
    std::atomic<bool> writing{true};
    std::thread traffic([&] {
        for (std::uint64_t i = 0; writing; ++i) observer->recorder().record(test::sample_push("c-churn", 1, i));
    });
    for (int round = 0; round < 40; ++round) {
        test::Client reader(host.port());
        CHECK(reader.get(events, true).result() == http::status::ok);
        reader.read_until("event: request", 2s);  // leave as soon as the first event arrives
    }
    writing = false;
    traffic.join();
    REQUIRE(test::eventually([&] { return dashboard.stats().event_streams == 0; }));
    test::Client after(host.port());  // the host still serves
    CHECK(after.get("/tether/dashboard/api/requests?limit=1").result() == http::status::ok);
}
