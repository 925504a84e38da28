// What the Failures and Conflicts pages ask first: the top failure groups (with trends,
// clients and systematic flags) and the 24 h conflict patterns, over a store of 1 000 000
// mutations (--requests N pushes-and-pulls of 10 mutations each; default 100 000 → 1 M).
// Prints {"bench":"failure_groups","ms":…,"groups_ms":…,"patterns_ms":…,"mutations":…}
// where ms = median of both together.
#include <chrono>
#include <cstdio>

#include "common.hpp"
#include "tether/conflict_store.hpp"
#include "tether/failure_store.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;

int main(int argc, char** argv) {
    const std::size_t n = bench::requests_flag(argc, argv, 133'334);  // 3 in 4 are pushes: ≈1 000 000 mutations
    const Micros now = 1'795'650'000'000'000;
    TelemetryAggregator agg{TelemetryConfig{}};
    bench::ScratchDir dir;
    auto store = open_sqlite_storage({dir.file("failures.db")});
    bench::fill_store(*store, agg, n, 10, now);
    const std::uint64_t mutations = store->count_mutations();

    ManualClock clock(now);
    FailureStore failures(*store, FailureThresholds{}, &clock);
    ConflictStore conflicts(*store);
    ConflictPatternQuery patterns;
    patterns.from_us = now - 24 * one_hour_us;
    patterns.to_us = now;
    FailureGroupQuery groups;
    groups.limit = 20;

    std::vector<double> both, g_ms, p_ms;
    for (int i = 0; i < 30; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto g = failures.groups(groups);
        auto t1 = std::chrono::steady_clock::now();
        auto p = conflicts.patterns(patterns);
        auto t2 = std::chrono::steady_clock::now();
        if (g.empty() || p.total == 0) std::abort();
        g_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        p_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
        both.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
    }
    std::printf("{\"bench\":\"failure_groups\",\"ms\":%.3f,\"groups_ms\":%.3f,\"patterns_ms\":%.3f,\"mutations\":%llu}\n",
                bench::percentile(both, 50), bench::percentile(g_ms, 50), bench::percentile(p_ms, 50),
                static_cast<unsigned long long>(mutations));
    return 0;
}
