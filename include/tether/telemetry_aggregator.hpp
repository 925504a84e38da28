#pragma once
// TelemetryAggregator: turns each written batch into rollup deltas (stored in the same
// transaction) and builds the metrics document — throughput, latency percentiles,
// conflict and failure rates, the health strip, top models and clients — from rollups
// alone. The document's JSON form is the one served at GET {prefix}/metrics.
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "tether/config.hpp"
#include "tether/recorder.hpp"
#include "tether/storage.hpp"
#include "tether/telemetry.hpp"

namespace tether {

struct MetricsDocument {
    MetricsWindow window = MetricsWindow::h24;
    std::string instance;          ///< "" = all instances
    Micros generated_at_us = 0;
    Micros from_us = 0, to_us = 0; ///< [from, to): whole buckets
    Micros bucket_width_us = five_minutes_us;

    struct Throughput {
        std::uint64_t requests = 0, pushes = 0, pulls = 0, mutations = 0, snapshots = 0;
        std::uint64_t applied = 0, rejected = 0, conflicts = 0;
    } throughput;
    struct Latency {
        double avg_ms = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;
    } latency;
    std::uint64_t conflict_requests = 0;  ///< requests with at least one conflict
    std::uint64_t failed_requests = 0;
    double conflict_rate = 0;  ///< percent of requests with a conflict
    double failure_rate = 0;   ///< percent of requests that failed

    struct HealthCell {
        Micros start_us = 0;
        std::uint64_t requests = 0, conflicts = 0, failures = 0;  ///< conflicts/failures count requests
        double avg_ms = 0, p95_ms = 0;
        HealthStatus status = HealthStatus::idle;
    };
    std::vector<HealthCell> health;  ///< oldest first; 12/72/288 five-minute or 168 hourly cells

    struct TopModel {
        std::string model;
        std::uint64_t mutations = 0, conflicts = 0, failures = 0;
    };
    struct TopClient {
        std::string client_id;
        std::uint64_t requests = 0, mutations = 0, failures = 0;
    };
    std::vector<TopModel> top_models;    ///< by mutations desc, then name asc
    std::vector<TopClient> top_clients;  ///< by requests desc, then mutations desc, then id asc
    std::vector<std::string> instances;  ///< instances with data in the window, sorted

    RecorderStats recorder;
};

/// Process-lifetime totals for Prometheus/OpenMetrics scraping: monotonic counters that
/// restart at zero with the process, as scrapers expect. Thread-safe.
class TelemetryCounters {
public:
    static constexpr std::size_t max_models = 200;  ///< further models are counted as "(other)"
    /// Upper bounds (seconds) of the request duration histogram buckets, +Inf implied.
    static const std::vector<double>& duration_bounds_seconds();

    struct Snapshot {
        std::map<std::string, std::uint64_t> requests;         ///< by kind
        std::map<std::string, std::uint64_t> failed_requests;  ///< by kind
        std::map<std::pair<std::string, std::string>, std::uint64_t> mutations;  ///< by (model, outcome)
        std::uint64_t snapshots = 0;
        std::uint64_t conflicts = 0;                  ///< mutations with a conflict
        std::uint64_t replays = 0;                    ///< replays, counted nowhere else
        std::vector<std::uint64_t> duration_buckets;  ///< per bound, not cumulative; last = +Inf
        double duration_sum_seconds = 0;
        std::uint64_t duration_count = 0;
    };

    /// Count requests that were just committed to storage.
    void count(const std::vector<CapturedRequest>& written);
    Snapshot snapshot() const;

private:
    mutable std::mutex mutex_;
    Snapshot totals_;
};

/// OpenMetrics text (also valid Prometheus text 0.0.4, checked with `promtool check metrics`):
/// tether_requests_total{kind}, tether_failed_requests_total{kind},
/// tether_mutations_total{model,outcome}, tether_snapshots_total, tether_conflicts_total,
/// tether_replays_total,
/// tether_request_duration_seconds (histogram), tether_recorder_* counters and gauges; ends with "# EOF".
std::string to_openmetrics(const TelemetryCounters::Snapshot& counters, const RecorderStats& recorder);

class TelemetryAggregator {
public:
    explicit TelemetryAggregator(TelemetryConfig config);

    /// Rollup deltas (5-minute and hourly) for a processed batch.
    RollupBatch rollup(const std::vector<CapturedRequest>& batch) const;

    /// The metrics document for `window` ending with the bucket that contains `now_us`.
    /// `instance` empty = all instances. `recorder` is copied into the document.
    MetricsDocument metrics(Storage& storage, MetricsWindow window, std::string_view instance, Micros now_us,
                            const RecorderStats& recorder = {}) const;

    /// The health rule (see TelemetryConfig).
    HealthStatus health(std::uint64_t requests, std::uint64_t conflict_requests, std::uint64_t failed_requests,
                        double p95_ms) const noexcept;

    const TelemetryConfig& config() const noexcept { return config_; }

    /// The process-lifetime counters (updated by the recorder after each commit).
    TelemetryCounters& counters() const noexcept { return counters_; }

private:
    TelemetryConfig config_;
    mutable TelemetryCounters counters_;
};

/// The document as JSON with DESIGN §6 field names (times as ISO-8601 plus *_us numbers).
std::string to_json(const MetricsDocument& doc);

}  // namespace tether
