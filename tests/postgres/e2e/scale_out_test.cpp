// PostgreSQL end to end: tether-example-server processes recording into one database (one
// dashboard for the fleet, with a per-instance filter), and a PostgreSQL restart during ingest.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

#include "e2e/e2e_support.hpp"
#include "postgres/pg_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace tether::e2e;
using namespace std::chrono_literals;

namespace {

std::uint64_t num(const json::value& doc, std::string_view key) { return count_at(doc, "/" + std::string(key)); }

// The fleet's totals that the dashboard's throughput reports one for one.
constexpr const char* exact_totals[] = {"requests", "pushes", "pulls", "snapshots", "mutations", "applied", "rejected"};

json::value run_fleet(const ExampleServer& server, const std::string& summary_path, const std::string& seed,
                      std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--url",   server.url(), "--seed", seed, "--clients", "20", "--concurrency", "2",
                                     "--summary-json", summary_path};
    args.insert(args.end(), extra.begin(), extra.end());
    Process fleet(fleet_binary, args);
    const auto status = fleet.wait(180s);
    INFO(fleet.describe());
    REQUIRE(status == 0);
    return json::parse(read_file(summary_path));
}

std::string repo_root() { return TETHER_SOURCE_DIR; }

// A private PostgreSQL server (scripts/pg-test-server), for a test that must crash it without
// disturbing the tests that share the suite's server.
class PrivateServer {
public:
    explicit PrivateServer(const std::string& dir) : dir_(dir) {
        // Durable commits: the test crashes it and counts what survived.
        const std::string cmd = "TETHER_PG_DURABLE=1 " + repo_root() + "/scripts/pg-test-server start " + dir_ + " 2>&1";
        FILE* p = ::popen(cmd.c_str(), "r");
        REQUIRE(p);
        char line[1024];
        std::string out;
        while (std::fgets(line, sizeof line, p)) out += line;
        const int status = ::pclose(p);
        INFO(out);
        REQUIRE(status == 0);
        const std::string key = "TETHER_TEST_POSTGRES_URL='";
        const auto at = out.find(key);
        REQUIRE(at != std::string::npos);
        url_ = out.substr(at + key.size(), out.find('\'', at + key.size()) - at - key.size());
    }
    ~PrivateServer() { std::system((repo_root() + "/scripts/pg-test-server stop " + dir_ + " >/dev/null 2>&1").c_str()); }
    const std::string& url() const { return url_; }
    /// Crashes the server (immediate stop), keeps it down for `seconds`, starts it again.
    bool restart(int seconds) const {
        return std::system((repo_root() + "/scripts/pg-test-server restart " + dir_ + " " + std::to_string(seconds) +
                            " >/dev/null 2>&1")
                               .c_str()) == 0;
    }

private:
    std::string dir_, url_;
};

}  // namespace

TEST_CASE("two server instances, one database: merged metrics are the sum, each instance its own",
          "[postgres][e2e]") {
    tether::test::TempDir dir;
    tether::test::PgSchema schema;  // the deployment's schema, dropped afterwards
    const std::string config = dir.file("tether.json");
    std::ofstream(config) << R"({"storage": {"schema": ")" << schema.name() << R"("}})";
    const std::string url = tether::test::postgres_test_url();
    std::filesystem::create_directories(dir.file("a"));
    std::filesystem::create_directories(dir.file("b"));
    ExampleServer a(dir.file("a"), {"--config", config, "--observer-db", url, "--instance", "eu-1"});
    ExampleServer b(dir.file("b"), {"--config", config, "--observer-db", url, "--instance", "us-1"});

    // Both fleets at once: two processes write to the same rollups, failure groups, clients.
    json::value summary_a, summary_b;
    std::thread other([&] { summary_b = run_fleet(b, dir.file("b.json"), "21", {"--requests", "400"}); });
    summary_a = run_fleet(a, dir.file("a.json"), "12", {"--requests", "500"});
    other.join();
    REQUIRE(num(summary_a, "transport_errors") == 0);
    REQUIRE(num(summary_b, "transport_errors") == 0);

    a.await_recorded(num(summary_a, "requests"), "eu-1");
    b.await_recorded(num(summary_b, "requests"), "us-1");
    // Either server's dashboard shows the whole deployment.
    for (const ExampleServer* server : {&a, &b}) {
        const json::value all = server->metrics();
        const json::value eu = server->metrics("eu-1");
        const json::value us = server->metrics("us-1");
        INFO("all: " << brief(all));
        for (const char* key : exact_totals) {
            INFO(key);
            CHECK(num(all.at("throughput"), key) == num(summary_a, key) + num(summary_b, key));
            CHECK(num(eu.at("throughput"), key) == num(summary_a, key));
            CHECK(num(us.at("throughput"), key) == num(summary_b, key));
        }
        CHECK(num(all.at("throughput"), "conflicts") == num(eu.at("throughput"), "conflicts") +
                                                            num(us.at("throughput"), "conflicts"));
        const auto& instances = all.at("instances").as_array();
        CHECK(instances.size() == 2);
    }
    // The request list filters by instance too.
    CHECK(get_all(a.port(), std::string(dashboard_prefix) + "/api/requests?instance=us-1").size() ==
          num(summary_b, "requests"));
}

TEST_CASE("PostgreSQL restarts during ingest: the host never errs, nothing is lost", "[postgres][e2e]") {
    tether::test::TempDir dir;
    // Not inside `dir`: the server runs as the postgres user, who cannot enter our temp dir.
    PrivateServer pg((std::filesystem::temp_directory_path() / ("tether-pg-e2e-" + std::to_string(::getpid()))).string());
    const std::string config = dir.file("tether.json");
    // Ride out a restart: retries for ~20 s while the queue holds the backlog.
    std::ofstream(config) << R"({"recorder": {"retry_initial_ms": 100, "retry_max_ms": 1000, "retry_max_attempts": 30}})";
    std::filesystem::create_directories(dir.file("srv"));
    ExampleServer server(dir.file("srv"), {"--config", config, "--observer-db", pg.url(), "--instance", "restart"});

    json::value summary;
    std::thread fleet([&] {
        summary = run_fleet(server, dir.file("fleet.json"), "5", {"--rate", "150", "--duration", "8"});
    });
    // Once ingest is flowing, crash PostgreSQL and keep it down for 2 s.
    REQUIRE(eventually([&] { return count_at(server.metrics(), "/recorder/written") >= 100; }, 60s));
    const bool restarted = pg.restart(2);
    fleet.join();
    REQUIRE(restarted);

    // The host answered everything itself, outage or not.
    INFO("fleet summary: " << json::serialize(summary));
    CHECK(num(summary, "transport_errors") == 0);
    for (const auto& [status, n] : summary.at("http_statuses").as_object()) CHECK(std::string(status).front() != '5');

    // Recording caught up: every exchange written once, none dropped; the outage is counted.
    const json::value metrics = server.await_recorded(num(summary, "requests"), {}, 120s);
    INFO(brief(metrics));
    CHECK(count_at(metrics, "/recorder/dropped") == 0);
    CHECK(count_at(metrics, "/recorder/written") == num(summary, "requests"));
    CHECK(count_at(metrics, "/recorder/storage_errors") > 0);
    for (const char* key : exact_totals) {
        INFO(key);
        CHECK(num(metrics.at("throughput"), key) == num(summary, key));
    }
    CHECK(get_all(server.port(), std::string(dashboard_prefix) + "/api/requests").size() == num(summary, "requests"));
    const auto status = server.terminate();
    CHECK(status == 0);
}
