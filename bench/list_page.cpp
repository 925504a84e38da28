// A filtered request-list page (one client's failed requests) at the start and at the far
// end of a 1 000 000-request store (--requests N for smaller runs).
// Prints {"bench":"list_page","first_ms":…,"deep_ms":…}
#include <chrono>
#include <cstdio>

#include "common.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;

int main(int argc, char** argv) {
    const std::size_t n = bench::requests_flag(argc, argv, 1'000'000);
    const Micros now = 1'795'650'000'000'000;
    TelemetryAggregator agg{TelemetryConfig{}};
    bench::ScratchDir dir;
    auto store = open_sqlite_storage({dir.file("list.db")});
    bench::fill_store(*store, agg, n, 10, now);

    RequestFilter filter;
    filter.client_id = "c-10";  // every 50th request; with failed_only every 50th of those
    filter.failed_only = true;
    PageRequest first{50, ""};
    // The far end: a cursor just after the oldest 1 % of the store, as a reader paging
    // that deep would hold (keyset cursors make depth free; this proves it).
    const Micros span = 24LL * 3600 * 1'000'000 - 1;
    CursorKey deep_key{now - span + span / 100, "01R"};
    PageRequest deep{50, encode_cursor(deep_key)};

    auto time_ms = [&](const PageRequest& page) {
        std::vector<double> ms;
        std::size_t items = 0;
        for (int i = 0; i < 50; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            auto p = store->list_requests(filter, page);
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            items = p.items.size();
        }
        if (items == 0) std::abort();
        return bench::percentile(ms, 50);
    };
    double first_ms = time_ms(first), deep_ms = time_ms(deep);
    std::printf("{\"bench\":\"list_page\",\"first_ms\":%.3f,\"deep_ms\":%.3f,\"requests\":%zu}\n", first_ms, deep_ms, n);
    return 0;
}
