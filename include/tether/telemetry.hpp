#pragma once
// Telemetry: 5-minute rollups maintained at write time, and the metrics document built
// from them. Reading metrics never scans raw rows, so it costs the same whether the store
// holds a thousand requests or ten million.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/clock.hpp"
#include "tether/latency_histogram.hpp"
#include "tether/recorder.hpp"
#include "tether/records.hpp"

namespace tether {

inline constexpr Micros five_minutes_us = 5LL * 60 * 1'000'000;
inline constexpr Micros one_hour_us = 60LL * 60 * 1'000'000;

struct ModelCounts {
    std::uint64_t mutations = 0;  ///< pushed mutations of this model
    std::uint64_t conflicts = 0;  ///< of which had a conflict
    std::uint64_t failures = 0;   ///< of which were rejected
    friend bool operator==(const ModelCounts& a, const ModelCounts& b) {
        return a.mutations == b.mutations && a.conflicts == b.conflicts && a.failures == b.failures;
    }
};

struct ClientCounts {
    std::uint64_t requests = 0;
    std::uint64_t mutations = 0;
    std::uint64_t failures = 0;  ///< failed requests
    friend bool operator==(const ClientCounts& a, const ClientCounts& b) {
        return a.requests == b.requests && a.mutations == b.mutations && a.failures == b.failures;
    }
};

/// Everything counted for one instance in one time bucket. Rollups of the same bucket and
/// instance add up field by field (merge), which is how batches and instances combine.
struct Rollup {
    Micros start_us = 0;          ///< bucket start (multiple of width_us)
    Micros width_us = five_minutes_us;
    std::string instance;
    std::uint64_t requests = 0, pushes = 0, pulls = 0;
    std::uint64_t mutations = 0, snapshots = 0;
    std::uint64_t applied = 0, rejected = 0;
    std::uint64_t conflicts = 0;          ///< mutations with a conflict
    std::uint64_t conflict_requests = 0;  ///< requests with at least one conflict
    std::uint64_t failed_requests = 0;    ///< outcome rejected or error
    std::uint64_t duration_sum_us = 0;
    std::uint64_t duration_max_us = 0;
    LatencyHistogram latency;
    std::map<std::string, ModelCounts> models;
    /// Clients by id; beyond TelemetryConfig::max_clients_per_bucket new clients are
    /// counted under other_clients_key.
    std::map<std::string, ClientCounts> clients;

    /// Adds `other` (same bucket) field by field; clients beyond `max_clients` distinct ids
    /// are folded into other_clients_key.
    void merge(const Rollup& other, std::size_t max_clients = SIZE_MAX);
};

/// Client label that collects clients beyond the per-bucket cap.
inline constexpr std::string_view other_clients_key = "(other)";

enum class HealthStatus : std::uint8_t { idle, ok, degraded, failing };
const char* to_string(HealthStatus s) noexcept;

enum class MetricsWindow : std::uint8_t { h1, h6, h24, d7 };
const char* to_string(MetricsWindow w) noexcept;
std::optional<MetricsWindow> parse_metrics_window(std::string_view s) noexcept;  ///< "1h" "6h" "24h" "7d"

}  // namespace tether
