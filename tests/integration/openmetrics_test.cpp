// The OpenMetrics exposition: content, and `promtool check metrics` on a real document.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "support/protocol.hpp"
#include "support/temp_dir.hpp"
#include "tether/observer.hpp"

using namespace tether;
using namespace std::chrono_literals;

namespace {
std::unique_ptr<Observer> observer_with_traffic() {
    auto obs = Observer::builder().build();
    for (int i = 0; i < 30; ++i) {
        auto ex = test::sample_push("c" + std::to_string(i % 4), 3, static_cast<std::uint64_t>(i));
        ex.duration_us = 1000LL * (i + 1);  // 1 ms .. 30 ms
        if (i % 10 == 0) ex.http_status = 500;
        obs->recorder().record(std::move(ex));
    }
    Exchange pull;
    pull.kind = ExchangeKind::pull;
    pull.request_body = test::pull_request("c\"odd\\name", std::nullopt);
    pull.response_body = test::pull_response({"Task", "Note"}, 9, false);
    obs->recorder().record(std::move(pull));
    obs->recorder().flush(10s);
    return obs;
}
}  // namespace

TEST_CASE("openmetrics: process counters, histogram and recorder state", "[telemetry][openmetrics]") {
    auto obs = observer_with_traffic();
    std::string text = obs->openmetrics();
    CHECK_THAT(text, Catch::Contains("tether_requests_total{kind=\"push\"} 30\n"));
    CHECK_THAT(text, Catch::Contains("tether_requests_total{kind=\"pull\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("tether_failed_requests_total{kind=\"push\"} 3\n"));
    // Three pushes answered HTTP 500: their mutations' outcomes are unknown.
    CHECK_THAT(text, Catch::Contains("tether_mutations_total{model=\"Task\",outcome=\"applied\"} 27\n"));
    CHECK_THAT(text, Catch::Contains("tether_mutations_total{model=\"Task\",outcome=\"unknown\"} 3\n"));
    CHECK_THAT(text, Catch::Contains("tether_snapshots_total 2\n"));
    CHECK_THAT(text, Catch::Contains("# UNIT tether_request_duration_seconds seconds\n"));
    CHECK_THAT(text, Catch::Contains("tether_request_duration_seconds_bucket{le=\"0.01\"} 11\n"));
    CHECK_THAT(text, Catch::Contains("tether_request_duration_seconds_bucket{le=\"+Inf\"} 31\n"));  // pushes 1..30 ms, the pull 0
    CHECK_THAT(text, Catch::Contains("tether_request_duration_seconds_count 31\n"));
    CHECK_THAT(text, Catch::Contains("tether_recorder_dropped_total{reason=\"queue_full\"} 0\n"));
    CHECK_THAT(text, Catch::Contains("tether_recorder_queue_items 0\n"));
    // What observing cost: both recorder threads have done work by now.
    const auto stats = obs->recorder().stats();
    CHECK(stats.process_cpu_us > 0);
    CHECK(stats.store_cpu_us > 0);
    for (const char* stage : {"process", "store"}) {
        const std::string name = std::string("tether_recorder_cpu_seconds_total{stage=\"") + stage + "\"} ";
        const auto at = text.find(name);
        REQUIRE(at != std::string::npos);
        CHECK(std::strtod(text.c_str() + at + name.size(), nullptr) > 0);
    }
    CHECK(text.size() > 6);
    CHECK(text.substr(text.size() - 6) == "# EOF\n");
}

TEST_CASE("openmetrics: promtool check metrics accepts the exposition", "[telemetry][openmetrics]") {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        const char* ci = std::getenv("CI");
        if (ci && std::string(ci) == "true") FAIL("promtool not found: scripts/install-deps installs the prometheus package");
        WARN("skipped: promtool not installed (Debian package prometheus)");
        return;
    }
    auto obs = observer_with_traffic();
    test::TempDir dir;
    std::string file = dir.file("metrics.txt");
    {
        std::ofstream out(file);
        out << obs->openmetrics();
    }
    std::string cmd = "promtool check metrics < '" + file + "' > '" + file + ".log' 2>&1";
    int rc = std::system(cmd.c_str());
    std::ifstream log(file + ".log");
    std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    INFO(output);
    CHECK(rc == 0);
}
