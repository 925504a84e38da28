// What a sync handler pays per record() call for a 20-mutation (≈8 KB) push, compared
// with parsing the same body once with boost::json::parse in the same run.
// Prints {"bench":"recorder_hot_path","median_ns":…,"p99_ns":…,"parse_median_ns":…,"ratio":…}
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>

#include "common.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

using clk = std::chrono::steady_clock;

int main() {
    using namespace tether;
    const std::size_t rounds = 100, per_round = 1000;
    Exchange proto = bench::make_push(20, 42);
    bench::ScratchDir dir;

    Config config;
    config.recorder.queue_max_items = per_round * 2;
    config.recorder.queue_max_bytes = 1u << 30;
    auto observer = Observer::builder().config(config).storage(open_sqlite_storage({dir.file("hot.db")})).build();
    auto& rec = observer->recorder();

    std::vector<Exchange> prepared(per_round);
    std::vector<double> hook_ns;
    hook_ns.reserve(rounds * per_round);
    for (std::size_t r = 0; r < rounds; ++r) {
        for (auto& ex : prepared) ex = proto;  // copies are made outside the timed region
        for (auto& ex : prepared) {
            auto t0 = clk::now();
            rec.record(std::move(ex));
            auto t1 = clk::now();
            hook_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
        }
        rec.flush(std::chrono::minutes(1));  // untimed: keeps the queue from overflowing
    }
    auto stats = rec.stats();

    std::vector<double> parse_ns;
    for (int i = 0; i < 3000; ++i) {
        auto t0 = clk::now();
        auto v = boost::json::parse(proto.request_body);
        auto t1 = clk::now();
        parse_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
        if (v.is_null()) return 1;
    }
    double median = bench::percentile(hook_ns, 50), p99 = bench::percentile(hook_ns, 99);
    double parse_median = bench::percentile(parse_ns, 50);
    std::printf(
        "{\"bench\":\"recorder_hot_path\",\"median_ns\":%.0f,\"p99_ns\":%.0f,\"parse_median_ns\":%.0f,\"ratio\":%.4f,"
        "\"body_bytes\":%zu,\"samples\":%zu,\"dropped\":%llu}\n",
        median, p99, parse_median, median / parse_median, proto.request_body.size(), hook_ns.size(),
        static_cast<unsigned long long>(stats.dropped));
    return 0;
}
