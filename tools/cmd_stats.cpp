// tether stats: the metrics document (what GET {prefix}/metrics serves), read from rollups.
#include "cli.hpp"
#include "format.hpp"
#include "tether/telemetry_aggregator.hpp"

namespace tether::cli {

namespace {

char status_char(HealthStatus s) {
    switch (s) {
        case HealthStatus::idle:
            return '.';
        case HealthStatus::ok:
            return 'o';
        case HealthStatus::degraded:
            return 'D';
        case HealthStatus::failing:
            return 'F';
    }
    return '?';
}

void print_health(std::ostream& out, const MetricsDocument& d) {
    std::size_t counts[4] = {};
    for (const auto& h : d.health) ++counts[static_cast<int>(h.status)];
    const auto minutes = d.bucket_width_us / 60'000'000;
    out << "\nHealth (" << d.health.size() << " buckets of "
        << (minutes >= 60 ? std::to_string(minutes / 60) + " h" : std::to_string(minutes) + " min")
        << ", oldest first): " << counts[1] << " ok, " << counts[2] << " degraded, " << counts[3] << " failing, "
        << counts[0] << " idle\n";
    // One row per 6 hours of 5-minute buckets, or per day of hourly ones.
    const std::size_t per_row = minutes >= 60 ? 24 : 72;
    for (std::size_t i = 0; i < d.health.size(); i += per_row) {
        std::string row;
        for (std::size_t j = i; j < d.health.size() && j < i + per_row; ++j) row += status_char(d.health[j].status);
        out << "  " << short_time(d.health[i].start_us) << "  " << row << '\n';
    }
    out << "  (. idle  o ok  D degraded  F failing)\n";
}

}  // namespace

int run_stats(Context& c) {
    c.no_positional();
    const MetricsWindow window =
        c.choice("--window", parse_metrics_window, "1h, 6h, 24h, 7d").value_or(MetricsWindow::h24);
    const std::string instance = c.text("--instance");
    const bool json = c.flag("--json");
    TelemetryAggregator telemetry(c.config().telemetry);
    const MetricsDocument d = telemetry.metrics(c.storage(), window, instance, c.now());
    std::ostream& out = c.out();
    if (json) {
        out << to_json(d) << '\n';
        return exit_ok;
    }

    out << "Metrics for the last " << to_string(d.window) << " (" << short_time(d.from_us) << " to "
        << short_time(d.to_us) << "), "
        << (d.instance.empty() ? std::string("all instances") : "instance " + d.instance) << "\n\n";
    const auto& t = d.throughput;
    Table summary({{"", Align::left, 0}, {"", Align::right, 0}, {"", Align::left, 0}});
    summary.add({"requests", std::to_string(t.requests),
                 "pushes " + std::to_string(t.pushes) + ", pulls " + std::to_string(t.pulls)});
    summary.add({"mutations", std::to_string(t.mutations),
                 "applied " + std::to_string(t.applied) + ", rejected " + std::to_string(t.rejected) + ", conflicts " +
                     std::to_string(t.conflicts)});
    summary.add({"snapshots", std::to_string(t.snapshots), "pulled"});
    summary.add(
        {"conflict rate", percent(d.conflict_rate), std::to_string(d.conflict_requests) + " requests with a conflict"});
    summary.add({"failure rate", percent(d.failure_rate), std::to_string(d.failed_requests) + " failed requests"});
    summary.add({"avg latency", millis(d.latency.avg_ms),
                 "ms; p50 " + millis(d.latency.p50_ms) + ", p95 " + millis(d.latency.p95_ms) + ", p99 " +
                     millis(d.latency.p99_ms) + ", max " + millis(d.latency.max_ms) + " ms"});
    summary.add({"instances", std::to_string(d.instances.size()), join(d.instances)});
    summary.print(out, false);

    print_health(out, d);

    out << "\nTop models\n";
    if (d.top_models.empty()) {
        out << "  (none)\n";
    } else {
        Table models({{"MODEL"}, {"MUTATIONS", Align::right}, {"CONFLICTS", Align::right}, {"FAILURES", Align::right}});
        for (const auto& m : d.top_models)
            models.add({or_dash(m.model), std::to_string(m.mutations), std::to_string(m.conflicts),
                        std::to_string(m.failures)});
        models.print(out);
    }
    out << "\nTop clients\n";
    if (d.top_clients.empty()) {
        out << "  (none)\n";
    } else {
        Table clients({{"CLIENT"}, {"REQUESTS", Align::right}, {"MUTATIONS", Align::right}, {"FAILED", Align::right}});
        for (const auto& cl : d.top_clients)
            clients.add({or_dash(cl.client_id), std::to_string(cl.requests), std::to_string(cl.mutations),
                         std::to_string(cl.failures)});
        clients.print(out);
    }
    return exit_ok;
}

}  // namespace tether::cli
