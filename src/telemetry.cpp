#include "tether/telemetry.hpp"

#include <algorithm>

namespace tether {

void Rollup::merge(const Rollup& o, std::size_t max_clients) {
    requests += o.requests;
    pushes += o.pushes;
    pulls += o.pulls;
    mutations += o.mutations;
    snapshots += o.snapshots;
    applied += o.applied;
    rejected += o.rejected;
    conflicts += o.conflicts;
    conflict_requests += o.conflict_requests;
    failed_requests += o.failed_requests;
    duration_sum_us += o.duration_sum_us;
    duration_max_us = std::max(duration_max_us, o.duration_max_us);
    latency.merge(o.latency);
    for (const auto& [name, c] : o.models) {
        auto& m = models[name];
        m.mutations += c.mutations;
        m.conflicts += c.conflicts;
        m.failures += c.failures;
    }
    for (const auto& [id, c] : o.clients) {
        auto it = clients.find(id);
        if (it == clients.end()) {
            // The cap counts real clients only; the overflow row itself is always allowed.
            std::size_t real = clients.size() - (clients.count(std::string(other_clients_key)) ? 1 : 0);
            const std::string& key = (id != other_clients_key && real >= max_clients) ? std::string(other_clients_key) : id;
            it = clients.try_emplace(key).first;
        }
        it->second.requests += c.requests;
        it->second.mutations += c.mutations;
        it->second.failures += c.failures;
    }
}

const char* to_string(HealthStatus s) noexcept {
    switch (s) {
        case HealthStatus::idle: return "idle";
        case HealthStatus::ok: return "ok";
        case HealthStatus::degraded: return "degraded";
        case HealthStatus::failing: return "failing";
    }
    return "unknown";
}

namespace {
constexpr const char* window_names[] = {"1h", "6h", "24h", "7d"};
}

const char* to_string(MetricsWindow w) noexcept { return window_names[static_cast<std::size_t>(w) & 3u]; }

std::optional<MetricsWindow> parse_metrics_window(std::string_view s) noexcept {
    for (std::size_t i = 0; i < 4; ++i)
        if (s == window_names[i]) return static_cast<MetricsWindow>(i);
    return std::nullopt;
}

}  // namespace tether
