// The 24 h metrics document must cost the same on a small and a large store: median of
// ≥ 50 builds over 10 000 requests vs 1 000 000 requests of 10 mutations (--requests N
// sets the large size). Prints {"bench":"metrics_scale","small_ms":…,"large_ms":…,"ratio":…}
#include <chrono>
#include <cstdio>

#include "common.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;

namespace {
double median_metrics_ms(Storage& storage, const TelemetryAggregator& agg, Micros now, int calls) {
    std::vector<double> ms;
    for (int i = 0; i < calls; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto doc = agg.metrics(storage, MetricsWindow::h24, "", now);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (doc.throughput.requests == 0) std::abort();
    }
    return bench::percentile(ms, 50);
}
}  // namespace

int main(int argc, char** argv) {
    const std::size_t large = bench::requests_flag(argc, argv, 1'000'000), small = std::min<std::size_t>(10'000, large);
    const Micros now = 1'795'650'000'000'000;
    TelemetryAggregator agg{TelemetryConfig{}};
    bench::ScratchDir dir;
    auto small_store = open_sqlite_storage({dir.file("small.db")});
    auto large_store = open_sqlite_storage({dir.file("large.db")});
    bench::fill_store(*small_store, agg, small, 10, now);
    bench::fill_store(*large_store, agg, large, 10, now);
    double small_ms = median_metrics_ms(*small_store, agg, now, 60);
    double large_ms = median_metrics_ms(*large_store, agg, now, 60);
    std::printf("{\"bench\":\"metrics_scale\",\"small_ms\":%.3f,\"large_ms\":%.3f,\"ratio\":%.3f,\"small_requests\":%zu,"
                "\"large_requests\":%zu}\n",
                small_ms, large_ms, large_ms / small_ms, small, large);
    return 0;
}
