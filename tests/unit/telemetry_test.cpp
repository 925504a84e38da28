// Latency histogram accuracy, rollups of a batch, the health rule, the metrics JSON.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "tether/errors.hpp"
#include "tether/telemetry_aggregator.hpp"

using namespace tether;

TEST_CASE("latency histogram: every quantile within 2 % of the exact value at its rank", "[telemetry]") {
    std::mt19937_64 rng(11);
    for (int round = 0; round < 50; ++round) {
        std::lognormal_distribution<double> dist(7.0 + round % 5, 1.5);  // µs, spanning ~1 µs .. minutes
        std::vector<double> values;
        LatencyHistogram h;
        std::size_t n = 1 + rng() % 3000;
        for (std::size_t i = 0; i < n; ++i) {
            double v = std::floor(dist(rng)) + 1;
            values.push_back(v);
            h.add(v);
        }
        std::sort(values.begin(), values.end());
        for (double q : {0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0}) {
            double exact = values[static_cast<std::size_t>(std::floor(q * static_cast<double>(n - 1)))];
            double approx = h.quantile_us(q);
            INFO("n=" << n << " q=" << q << " exact=" << exact << " approx=" << approx);
            CHECK(std::fabs(approx - exact) <= LatencyHistogram::relative_accuracy * exact + 1e-9);
        }
    }
}

TEST_CASE("latency histogram: merge, encode/decode, edge values", "[telemetry]") {
    LatencyHistogram a, b, both;
    for (int i = 1; i < 500; ++i) {
        a.add(i * 3.0);
        both.add(i * 3.0);
        b.add(i * 1000.0);
        both.add(i * 1000.0);
    }
    a.merge(b);
    CHECK(a == both);
    CHECK(a.count() == 998);
    CHECK(LatencyHistogram::decode(a.encode()) == a);
    CHECK(LatencyHistogram::decode("").empty());

    LatencyHistogram z;
    z.add(0);
    z.add(-5);
    z.add(0.5);
    CHECK(z.quantile_us(0.5) == 0.0);
    CHECK(LatencyHistogram().quantile_us(0.5) == 0.0);
    LatencyHistogram one;
    one.add(1.0);
    CHECK(one.quantile_us(1.0) == Approx(1.0).epsilon(0.02));

    CHECK_THROWS_AS(LatencyHistogram::decode("3:4,x"), std::invalid_argument);
    CHECK_THROWS_AS(LatencyHistogram::decode("3"), std::invalid_argument);
    CHECK_THROWS_AS(LatencyHistogram::decode("3:"), std::invalid_argument);
    CHECK_THROWS_WITH(LatencyHistogram::decode("1:2,3;4"), Catch::Contains("byte"));
}

namespace {
CapturedRequest request(Micros at, ExchangeKind kind, RequestOutcome outcome, Micros duration, std::string client,
                        std::vector<std::pair<std::string, MutationOutcome>> muts = {}, std::string instance = "i1") {
    CapturedRequest c;
    auto& r = c.request;
    r.kind = kind;
    r.started_at_us = at;
    r.duration_us = duration;
    r.outcome = outcome;
    r.client_id = std::move(client);
    r.instance = std::move(instance);
    for (auto& [model, o] : muts) {
        MutationRecord m;
        m.model = model;
        m.outcome = o;
        if (o == MutationOutcome::conflict) m.conflict = ConflictInfo{};
        r.applied += o == MutationOutcome::applied;
        r.rejected += o == MutationOutcome::rejected;
        r.conflicts += o == MutationOutcome::conflict;
        c.mutations.push_back(m);
    }
    r.mutation_count = static_cast<std::uint32_t>(c.mutations.size());
    if (kind == ExchangeKind::pull) r.snapshots = 7;
    return c;
}
}  // namespace

TEST_CASE("telemetry: a batch becomes 5-minute and hourly rollups per instance", "[telemetry]") {
    TelemetryAggregator agg(TelemetryConfig{});
    const Micros t0 = 1'795'600'800'000'000;  // a whole hour
    std::vector<CapturedRequest> batch;
    batch.push_back(request(t0 + 1, ExchangeKind::push, RequestOutcome::ok, 2000, "a",
                            {{"Task", MutationOutcome::applied}, {"Note", MutationOutcome::applied}}));
    batch.push_back(request(t0 + five_minutes_us - 1, ExchangeKind::push, RequestOutcome::rejected, 4000, "b",
                            {{"Task", MutationOutcome::rejected}, {"Task", MutationOutcome::conflict}}));
    batch.push_back(request(t0 + five_minutes_us, ExchangeKind::pull, RequestOutcome::ok, 1000, "a"));
    batch.push_back(request(t0 + 1, ExchangeKind::pull, RequestOutcome::error, 9000, "c", {}, "i2"));
    auto out = agg.rollup(batch);
    CHECK(out.max_clients_per_bucket == 500);
    // i1: two 5-minute buckets + one hourly; i2: one 5-minute + one hourly.
    REQUIRE(out.items.size() == 5);
    const Rollup* first = nullptr;
    const Rollup* hour = nullptr;
    for (const auto& r : out.items) {
        if (r.instance == "i1" && r.width_us == five_minutes_us && r.start_us == t0) first = &r;
        if (r.instance == "i1" && r.width_us == one_hour_us) hour = &r;
    }
    REQUIRE(first);
    REQUIRE(hour);
    CHECK(first->requests == 2);
    CHECK(first->pushes == 2);
    CHECK(first->mutations == 4);
    CHECK(first->applied == 2);
    CHECK(first->rejected == 1);
    CHECK(first->conflicts == 1);
    CHECK(first->conflict_requests == 1);
    CHECK(first->failed_requests == 1);
    CHECK(first->duration_sum_us == 6000);
    CHECK(first->duration_max_us == 4000);
    CHECK(first->latency.count() == 2);
    CHECK(first->models.at("Task") == ModelCounts{3, 1, 1});
    CHECK(first->models.at("Note") == ModelCounts{1, 0, 0});
    CHECK(first->clients.at("b") == ClientCounts{1, 2, 1});
    CHECK(hour->requests == 3);
    CHECK(hour->pulls == 1);
    CHECK(hour->snapshots == 7);
    CHECK(hour->clients.at("a") == ClientCounts{2, 2, 0});
}

TEST_CASE("telemetry: replays are counted apart from the traffic", "[telemetry]") {
    const Micros t0 = 1'795'600'800'000'000;
    std::vector<CapturedRequest> batch;
    batch.push_back(request(t0 + 1, ExchangeKind::push, RequestOutcome::ok, 2000, "a", {{"Task", MutationOutcome::applied}}));
    auto replay = request(t0 + 2, ExchangeKind::push, RequestOutcome::rejected, 3000, "a",
                          {{"Task", MutationOutcome::rejected}, {"Task", MutationOutcome::conflict}});
    replay.request.replay_of = "R1";
    batch.push_back(replay);

    auto out = TelemetryAggregator(TelemetryConfig{}).rollup(batch);
    REQUIRE(out.items.size() == 2);  // 5-minute and hourly, of the one client request
    for (const auto& r : out.items) {
        CHECK(r.requests == 1);
        CHECK(r.failed_requests == 0);
        CHECK(r.conflicts == 0);
        CHECK(r.models.at("Task") == ModelCounts{1, 0, 0});
        CHECK(r.clients.at("a") == ClientCounts{1, 1, 0});
    }

    TelemetryCounters counters;
    counters.count(batch);
    auto c = counters.snapshot();
    CHECK(c.requests.at("push") == 1);
    CHECK(c.failed_requests.count("push") == 0);
    CHECK(c.conflicts == 0);
    CHECK(c.duration_count == 1);
    CHECK(c.replays == 1);
    CHECK_THAT(to_openmetrics(c, {}), Catch::Contains("\ntether_replays_total 1\n"));
}

TEST_CASE("telemetry: the client cap folds extra clients into (other)", "[telemetry]") {
    TelemetryConfig cfg;
    cfg.max_clients_per_bucket = 3;
    TelemetryAggregator agg(cfg);
    std::vector<CapturedRequest> batch;
    for (int i = 0; i < 10; ++i)
        batch.push_back(request(1'795'600'800'000'000, ExchangeKind::pull, RequestOutcome::ok, 10, "c" + std::to_string(i)));
    auto out = agg.rollup(batch);
    for (const auto& r : out.items) {
        CHECK(r.clients.size() == 4);
        CHECK(r.clients.at(std::string(other_clients_key)).requests == 7);
    }
}

TEST_CASE("telemetry: the health rule", "[telemetry]") {
    TelemetryConfig cfg;  // degraded at 5 % failures / 10 % conflicts / 1 s p95; failing at 25 % / 50 % / 5 s
    TelemetryAggregator agg(cfg);
    CHECK(agg.health(0, 0, 0, 0) == HealthStatus::idle);
    CHECK(agg.health(100, 0, 0, 10) == HealthStatus::ok);
    CHECK(agg.health(100, 0, 4, 10) == HealthStatus::ok);
    CHECK(agg.health(100, 0, 5, 10) == HealthStatus::degraded);
    CHECK(agg.health(100, 10, 0, 10) == HealthStatus::degraded);
    CHECK(agg.health(100, 0, 0, 1000) == HealthStatus::degraded);
    CHECK(agg.health(100, 0, 25, 10) == HealthStatus::failing);
    CHECK(agg.health(100, 50, 0, 10) == HealthStatus::failing);
    CHECK(agg.health(100, 0, 0, 5000) == HealthStatus::failing);
    CHECK(agg.health(1, 0, 1, 10) == HealthStatus::failing);
}

TEST_CASE("telemetry: windows parse and the metrics JSON has the documented fields", "[telemetry]") {
    CHECK(parse_metrics_window("24h") == MetricsWindow::h24);
    CHECK(parse_metrics_window("7d") == MetricsWindow::d7);
    CHECK_FALSE(parse_metrics_window("2h"));
    MetricsDocument d;
    d.health.resize(2);
    d.top_models.push_back({"Task", 3, 1, 0});
    d.top_clients.push_back({"c1", 2, 3, 1});
    d.recorder.dropped_queue_full = 4;
    auto v = boost::json::parse(to_json(d)).as_object();
    for (const char* key : {"throughput", "latency", "conflict_rate", "failure_rate", "health", "top_models",
                            "top_clients", "recorder", "window", "from", "to"})
        CHECK(v.contains(key));
    for (const char* key : {"requests", "pushes", "pulls", "mutations", "snapshots"})
        CHECK(v["throughput"].as_object().contains(key));
    for (const char* key : {"avg_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"}) CHECK(v["latency"].as_object().contains(key));
    auto cell = v["health"].as_array()[0].as_object();
    for (const char* key : {"start", "requests", "conflicts", "failures", "avg_ms", "status"}) CHECK(cell.contains(key));
    CHECK(cell["status"] == "idle");
    CHECK(v["top_models"].as_array()[0].as_object()["model"] == "Task");
    CHECK(v["top_clients"].as_array()[0].as_object()["client_id"] == "c1");
    CHECK(v["recorder"].as_object()["dropped_by_reason"].as_object()["queue_full"] == 4);
    for (const char* key : {"queued", "written", "dropped"}) CHECK(v["recorder"].as_object().contains(key));
    d.recorder.process_cpu_us = 1'234'567;
    d.recorder.store_cpu_us = 2'600;
    v = boost::json::parse(to_json(d)).as_object();
    const auto& cpu = v["recorder"].as_object()["cpu_seconds"].as_object();
    CHECK(cpu.at("process").as_double() == Approx(1.235));
    CHECK(cpu.at("store").as_double() == Approx(0.003));
}
