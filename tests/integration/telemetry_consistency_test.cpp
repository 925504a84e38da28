// Random workloads across bucket boundaries and the 24 h edge: every metric the
// TelemetryAggregator serves from rollups must equal what the raw rows say.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>

#include "support/protocol.hpp"
#include "support/backends.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;
using namespace std::chrono_literals;

namespace {

// Exact value at rank floor(q * (n - 1)).
double exact_quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(std::floor(q * static_cast<double>(v.size() - 1)))];
}

void check_close(double approx_ms, double exact_us) {
    INFO("approx " << approx_ms << " ms, exact " << exact_us / 1000.0 << " ms");
    CHECK(std::fabs(approx_ms * 1000.0 - exact_us) <= LatencyHistogram::relative_accuracy * exact_us + 1.0);
}

Exchange random_exchange(std::mt19937_64& rng, Micros now, std::uint64_t n) {
    static const char* models[] = {"Task", "Project", "Note", "Tag"};
    Exchange ex;
    ex.started_at_us = now - static_cast<Micros>(rng() % (31ull * 3600 * 1'000'000));  // up to 31 h back
    ex.instance = rng() % 3 ? "i1" : "i2";
    std::lognormal_distribution<double> dur(8.5, 1.2);
    ex.duration_us = static_cast<Micros>(dur(rng));
    std::string client = "c" + std::to_string(rng() % 23);
    if (rng() % 4 == 0) {
        ex.kind = ExchangeKind::pull;
        std::vector<std::string> snaps(rng() % 5, models[rng() % 4]);
        ex.request_body = test::pull_request(client, std::nullopt);
        ex.response_body = test::pull_response(snaps, 1, false);
        return ex;
    }
    ex.kind = ExchangeKind::push;
    std::vector<test::TestMutation> muts;
    std::vector<std::string> applied;
    std::vector<test::Rejection> rejected;
    std::vector<test::Conflict> conflicts;
    for (std::size_t i = 0, k = rng() % 6; i < k; ++i) {
        test::TestMutation m;
        m.mutation_id = test::test_ulid(n * 10 + i, 'M');
        m.entity_id = test::test_ulid(n * 10 + i, 'E');
        m.model = models[rng() % 4];
        muts.push_back(m);
        switch (rng() % 5) {
            case 0: rejected.push_back({m.mutation_id}); break;
            case 1: conflicts.push_back({m.mutation_id}); break;
            default: applied.push_back(m.mutation_id);
        }
    }
    ex.request_body = test::push_request(client, muts);
    ex.response_body = test::push_response(applied, rejected, conflicts);
    if (rng() % 20 == 0) ex.http_status = 500;
    if (rng() % 25 == 0) ex.request_body.resize(ex.request_body.size() / 2);  // unparseable
    return ex;
}

template <class Backend>
void run_consistency() {
    test::TempDir dir;
    auto clock = std::make_shared<ManualClock>(1'795'650'123'456'789);  // not on a bucket boundary
    auto storage = Backend::open(dir);
    Config config;
    config.retention.max_age = std::chrono::hours(0);
    config.retention.max_requests = 0;
    config.telemetry.top_n = 5;
    auto obs = Observer::builder().config(config).clock(clock).storage(storage).build();
    std::mt19937_64 rng(2026);
    for (std::uint64_t n = 0; n < 3000; ++n) REQUIRE(obs->recorder().record(random_exchange(rng, clock->now_us(), n)));
    REQUIRE(obs->recorder().flush(60s));
    REQUIRE(obs->recorder().stats().written == 3000);

    for (auto window : {MetricsWindow::h1, MetricsWindow::h6, MetricsWindow::h24, MetricsWindow::d7}) {
        for (std::string instance : {"", "i2"}) {
            auto doc = obs->metrics(window, instance);
            INFO("window " << to_string(window) << " instance '" << instance << "'");
            // Recompute from the raw rows of the same window.
            RequestFilter f;
            f.from_us = doc.from_us;
            f.to_us = doc.to_us;
            f.instance = instance;
            std::vector<RequestRecord> rows;
            PageRequest page{500, ""};
            do {
                auto p = storage->list_requests(f, page);
                rows.insert(rows.end(), p.items.begin(), p.items.end());
                page.cursor = p.next_cursor;
            } while (!page.cursor.empty());

            MetricsDocument::Throughput t;
            std::uint64_t conflict_requests = 0, failed = 0, sum = 0, max = 0;
            std::vector<double> durations;
            std::map<std::string, ModelCounts> models;
            std::map<std::string, ClientCounts> clients;
            std::vector<std::vector<const RequestRecord*>> cells(doc.health.size());
            for (const auto& r : rows) {
                ++t.requests;
                t.pushes += r.kind == ExchangeKind::push;
                t.pulls += r.kind == ExchangeKind::pull;
                t.mutations += r.mutation_count;
                t.snapshots += r.snapshots;
                t.applied += r.applied;
                t.rejected += r.rejected;
                t.conflicts += r.conflicts;
                conflict_requests += r.conflicts > 0;
                failed += r.failed();
                sum += static_cast<std::uint64_t>(r.duration_us);
                max = std::max<std::uint64_t>(max, static_cast<std::uint64_t>(r.duration_us));
                durations.push_back(static_cast<double>(r.duration_us));
                auto& c = clients[r.client_id];
                ++c.requests;
                c.mutations += r.mutation_count;
                c.failures += r.failed();
                PageRequest mp{500, ""};
                do {
                    auto p = storage->list_mutations(r.id, {}, mp);
                    for (const auto& m : p.items) {
                        auto& mc = models[m.model];
                        ++mc.mutations;
                        mc.conflicts += m.conflict.has_value();
                        mc.failures += m.outcome == MutationOutcome::rejected;
                    }
                    mp.cursor = p.next_cursor;
                } while (!mp.cursor.empty());
                cells[static_cast<std::size_t>((r.started_at_us - doc.from_us) / doc.bucket_width_us)].push_back(&r);
            }
            CHECK(t.requests > 0);
            CHECK(doc.throughput.requests == t.requests);
            CHECK(doc.throughput.pushes == t.pushes);
            CHECK(doc.throughput.pulls == t.pulls);
            CHECK(doc.throughput.mutations == t.mutations);
            CHECK(doc.throughput.snapshots == t.snapshots);
            CHECK(doc.throughput.applied == t.applied);
            CHECK(doc.throughput.rejected == t.rejected);
            CHECK(doc.throughput.conflicts == t.conflicts);
            CHECK(doc.conflict_requests == conflict_requests);
            CHECK(doc.failed_requests == failed);
            CHECK(doc.conflict_rate == Approx(100.0 * static_cast<double>(conflict_requests) / static_cast<double>(t.requests)));
            CHECK(doc.failure_rate == Approx(100.0 * static_cast<double>(failed) / static_cast<double>(t.requests)));
            CHECK(doc.latency.avg_ms == Approx(static_cast<double>(sum) / static_cast<double>(t.requests) / 1000.0));
            CHECK(doc.latency.max_ms == Approx(static_cast<double>(max) / 1000.0));
            check_close(doc.latency.p50_ms, exact_quantile(durations, 0.50));
            check_close(doc.latency.p95_ms, exact_quantile(durations, 0.95));
            check_close(doc.latency.p99_ms, exact_quantile(durations, 0.99));

            for (std::size_t i = 0; i < cells.size(); ++i) {
                const auto& h = doc.health[i];
                CHECK(h.start_us == doc.from_us + static_cast<Micros>(i) * doc.bucket_width_us);
                std::uint64_t req = cells[i].size(), con = 0, fail = 0;
                std::vector<double> d;
                for (const auto* r : cells[i]) {
                    con += r->conflicts > 0;
                    fail += r->failed();
                    d.push_back(static_cast<double>(r->duration_us));
                }
                CHECK(h.requests == req);
                CHECK(h.conflicts == con);
                CHECK(h.failures == fail);
                if (req) check_close(h.p95_ms, exact_quantile(d, 0.95));
                CHECK(h.status == obs->telemetry().health(req, con, fail, h.p95_ms));
            }

            std::vector<MetricsDocument::TopModel> top_models;
            for (const auto& [name, m] : models) top_models.push_back({name, m.mutations, m.conflicts, m.failures});
            std::sort(top_models.begin(), top_models.end(), [](const auto& a, const auto& b) {
                return a.mutations != b.mutations ? a.mutations > b.mutations : a.model < b.model;
            });
            top_models.resize(std::min<std::size_t>(top_models.size(), 5));
            REQUIRE(doc.top_models.size() == top_models.size());
            for (std::size_t i = 0; i < top_models.size(); ++i) {
                CHECK(doc.top_models[i].model == top_models[i].model);
                CHECK(doc.top_models[i].mutations == top_models[i].mutations);
                CHECK(doc.top_models[i].conflicts == top_models[i].conflicts);
                CHECK(doc.top_models[i].failures == top_models[i].failures);
            }
            std::vector<MetricsDocument::TopClient> top_clients;
            for (const auto& [id, c] : clients) top_clients.push_back({id, c.requests, c.mutations, c.failures});
            std::sort(top_clients.begin(), top_clients.end(), [](const auto& a, const auto& b) {
                if (a.requests != b.requests) return a.requests > b.requests;
                if (a.mutations != b.mutations) return a.mutations > b.mutations;
                return a.client_id < b.client_id;
            });
            top_clients.resize(std::min<std::size_t>(top_clients.size(), 5));
            REQUIRE(doc.top_clients.size() == top_clients.size());
            for (std::size_t i = 0; i < top_clients.size(); ++i) {
                CHECK(doc.top_clients[i].client_id == top_clients[i].client_id);
                CHECK(doc.top_clients[i].requests == top_clients[i].requests);
                CHECK(doc.top_clients[i].mutations == top_clients[i].mutations);
                CHECK(doc.top_clients[i].failures == top_clients[i].failures);
            }
        }
    }
}

}  // namespace

TEST_CASE("telemetry consistency: metrics equal a recomputation from raw rows (memory)", "[telemetry][e2e]") {
    run_consistency<test::MemoryBackend>();
}

#ifdef TETHER_HAVE_SQLITE
TEST_CASE("telemetry consistency: metrics equal a recomputation from raw rows (sqlite)", "[telemetry][e2e]") {
    run_consistency<test::SqliteFileBackend>();
}
#endif

TEST_CASE("telemetry: pruning requests leaves the 24 h metrics intact", "[telemetry][e2e]") {
    auto clock = std::make_shared<ManualClock>(1'795'650'000'000'000);
    auto storage = make_memory_storage();
    Config config;
    config.retention.max_requests = 5;
    config.retention.prune_interval = 1ms;
    config.recorder.batch_max_delay = 1ms;
    auto obs = Observer::builder().config(config).clock(clock).storage(storage).build();
    for (int i = 0; i < 40; ++i) {
        auto ex = test::sample_push("c", 2, static_cast<std::uint64_t>(i));
        ex.started_at_us = clock->now_us() - i * 60'000'000LL;
        obs->recorder().record(std::move(ex));
    }
    REQUIRE(obs->recorder().flush(10s));
    clock->advance(1000);
    REQUIRE(test::eventually([&] { return storage->count_requests() == 5; }));
    auto doc = obs->metrics(MetricsWindow::h24);
    CHECK(doc.throughput.requests == 40);
    CHECK(doc.throughput.mutations == 80);
    CHECK(doc.recorder.written == 40);
}
