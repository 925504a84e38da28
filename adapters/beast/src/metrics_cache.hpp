#pragma once
// The metrics document is read far more often than it changes (every open dashboard polls
// it, Prometheus-style scrapers hammer it). Serialized documents are kept per (window,
// instance) until a batch is written or `ttl` passes (the window's end moves with time), so
// concurrent readers share one computation instead of each reading the rollups.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "tether/recorder.hpp"
#include "tether/telemetry.hpp"

namespace tether {
class Observer;
}

namespace tether::beast::detail {

class MetricsCache {
public:
    MetricsCache(Observer& observer, std::chrono::milliseconds ttl);

    /// to_json(observer.metrics(window, instance)), at most `ttl` old and never older than
    /// the last committed batch.
    std::string json(MetricsWindow window, std::string_view instance);

private:
    struct Entry {
        std::string json;
        std::uint64_t generation = 0;
        std::chrono::steady_clock::time_point at;
    };
    static constexpr std::size_t max_entries = 64;  // instance names come from the query string

    Observer& observer_;
    const std::chrono::milliseconds ttl_;
    std::atomic<std::uint64_t> generation_{0};
    std::mutex mutex_;  // held while computing: concurrent misses wait for one computation
    std::map<std::pair<MetricsWindow, std::string>, Entry, std::less<>> entries_;
    Subscription subscription_;
};

}  // namespace tether::beast::detail
