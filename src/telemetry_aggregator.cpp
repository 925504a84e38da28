#include "tether/telemetry_aggregator.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "detail/json.hpp"

namespace tether {
namespace {

Micros floor_to(Micros t, Micros width) {
    Micros q = t / width;
    if (t % width < 0) --q;  // floor for times before the epoch
    return q * width;
}

double percent(std::uint64_t part, std::uint64_t whole) {
    return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

double ms(double us) { return us / 1000.0; }

struct WindowShape {
    Micros width;
    std::size_t cells;
};

WindowShape shape_of(MetricsWindow w) {
    switch (w) {
        case MetricsWindow::h1: return {five_minutes_us, 12};
        case MetricsWindow::h6: return {five_minutes_us, 72};
        case MetricsWindow::h24: return {five_minutes_us, 288};
        case MetricsWindow::d7: return {one_hour_us, 168};
    }
    return {five_minutes_us, 288};
}

}  // namespace

TelemetryAggregator::TelemetryAggregator(TelemetryConfig config) : config_(std::move(config)) {}

RollupBatch TelemetryAggregator::rollup(const std::vector<CapturedRequest>& batch) const {
    std::map<std::tuple<Micros, Micros, std::string>, Rollup> by_key;
    for (const auto& c : batch) {
        const auto& r = c.request;
        Rollup one;
        one.instance = r.instance;
        one.requests = 1;
        one.pushes = r.kind == ExchangeKind::push;
        one.pulls = r.kind == ExchangeKind::pull;
        one.mutations = r.mutation_count;
        one.snapshots = r.snapshots;
        one.applied = r.applied;
        one.rejected = r.rejected;
        one.conflicts = r.conflicts;
        one.conflict_requests = r.conflicts > 0;
        one.failed_requests = r.failed();
        const auto duration = static_cast<std::uint64_t>(std::max<Micros>(r.duration_us, 0));
        one.duration_sum_us = duration;
        one.duration_max_us = duration;
        one.latency.add(static_cast<double>(duration));
        for (const auto& m : c.mutations) {
            auto& mc = one.models[m.model];
            ++mc.mutations;
            mc.conflicts += m.conflict.has_value();
            mc.failures += m.outcome == MutationOutcome::rejected;
        }
        auto& cc = one.clients[r.client_id];
        cc.requests = 1;
        cc.mutations = r.mutation_count;
        cc.failures = r.failed();
        for (Micros width : {five_minutes_us, one_hour_us}) {
            one.width_us = width;
            one.start_us = floor_to(r.started_at_us, width);
            auto [it, fresh] = by_key.try_emplace({width, one.start_us, r.instance}, one);
            if (!fresh) it->second.merge(one, config_.max_clients_per_bucket);
        }
    }
    RollupBatch out;
    out.max_clients_per_bucket = config_.max_clients_per_bucket;
    for (auto& [key, rollup] : by_key) out.items.push_back(std::move(rollup));
    return out;
}

HealthStatus TelemetryAggregator::health(std::uint64_t requests, std::uint64_t conflict_requests,
                                         std::uint64_t failed_requests, double p95_ms) const noexcept {
    if (requests == 0) return HealthStatus::idle;
    double failure = percent(failed_requests, requests), conflict = percent(conflict_requests, requests);
    const auto& c = config_;
    if (failure >= c.failing_failure_rate || conflict >= c.failing_conflict_rate || p95_ms >= c.failing_p95_ms)
        return HealthStatus::failing;
    if (failure >= c.degraded_failure_rate || conflict >= c.degraded_conflict_rate || p95_ms >= c.degraded_p95_ms)
        return HealthStatus::degraded;
    return HealthStatus::ok;
}

MetricsDocument TelemetryAggregator::metrics(Storage& storage, MetricsWindow window, std::string_view instance,
                                             Micros now_us, const RecorderStats& recorder) const {
    const auto shape = shape_of(window);
    MetricsDocument doc;
    doc.window = window;
    doc.instance = std::string(instance);
    doc.generated_at_us = now_us;
    doc.bucket_width_us = shape.width;
    doc.to_us = floor_to(now_us, shape.width) + shape.width;
    doc.from_us = doc.to_us - shape.width * static_cast<Micros>(shape.cells);
    doc.recorder = recorder;

    // One merged rollup per cell (instances combined), plus the window total.
    std::vector<Rollup> cells(shape.cells);
    for (std::size_t i = 0; i < shape.cells; ++i) cells[i].start_us = doc.from_us + shape.width * static_cast<Micros>(i);
    Rollup total;
    std::vector<std::string> instances;
    for (const auto& r : storage.read_rollups(shape.width, doc.from_us, doc.to_us, instance)) {
        auto idx = static_cast<std::size_t>((r.start_us - doc.from_us) / shape.width);
        if (idx >= cells.size()) continue;
        cells[idx].merge(r, SIZE_MAX);
        total.merge(r, SIZE_MAX);
        instances.push_back(r.instance);
    }
    std::sort(instances.begin(), instances.end());
    instances.erase(std::unique(instances.begin(), instances.end()), instances.end());
    doc.instances = std::move(instances);

    auto& t = doc.throughput;
    t.requests = total.requests;
    t.pushes = total.pushes;
    t.pulls = total.pulls;
    t.mutations = total.mutations;
    t.snapshots = total.snapshots;
    t.applied = total.applied;
    t.rejected = total.rejected;
    t.conflicts = total.conflicts;
    doc.conflict_requests = total.conflict_requests;
    doc.failed_requests = total.failed_requests;
    doc.conflict_rate = percent(total.conflict_requests, total.requests);
    doc.failure_rate = percent(total.failed_requests, total.requests);
    if (total.requests) {
        doc.latency.avg_ms = ms(static_cast<double>(total.duration_sum_us) / static_cast<double>(total.requests));
        doc.latency.p50_ms = ms(total.latency.quantile_us(0.50));
        doc.latency.p95_ms = ms(total.latency.quantile_us(0.95));
        doc.latency.p99_ms = ms(total.latency.quantile_us(0.99));
        doc.latency.max_ms = ms(static_cast<double>(total.duration_max_us));
    }

    doc.health.reserve(cells.size());
    for (const auto& c : cells) {
        MetricsDocument::HealthCell h;
        h.start_us = c.start_us;
        h.requests = c.requests;
        h.conflicts = c.conflict_requests;
        h.failures = c.failed_requests;
        if (c.requests) {
            h.avg_ms = ms(static_cast<double>(c.duration_sum_us) / static_cast<double>(c.requests));
            h.p95_ms = ms(c.latency.quantile_us(0.95));
        }
        h.status = health(c.requests, c.conflict_requests, c.failed_requests, h.p95_ms);
        doc.health.push_back(h);
    }

    for (const auto& [name, m] : total.models) doc.top_models.push_back({name, m.mutations, m.conflicts, m.failures});
    std::sort(doc.top_models.begin(), doc.top_models.end(), [](const auto& a, const auto& b) {
        return std::tie(b.mutations, a.model) < std::tie(a.mutations, b.model);
    });
    if (doc.top_models.size() > config_.top_n) doc.top_models.resize(config_.top_n);

    for (const auto& [id, c] : total.clients) doc.top_clients.push_back({id, c.requests, c.mutations, c.failures});
    std::sort(doc.top_clients.begin(), doc.top_clients.end(), [](const auto& a, const auto& b) {
        return std::tie(b.requests, b.mutations, a.client_id) < std::tie(a.requests, a.mutations, b.client_id);
    });
    if (doc.top_clients.size() > config_.top_n) doc.top_clients.resize(config_.top_n);
    return doc;
}

std::string to_json(const MetricsDocument& d) {
    namespace json = boost::json;
    auto round3 = [](double v) { return static_cast<double>(static_cast<long long>(v * 1000.0 + (v >= 0 ? 0.5 : -0.5))) / 1000.0; };
    json::array health;
    for (const auto& h : d.health)
        health.push_back(json::object{{"start", format_iso8601(h.start_us)},
                                      {"start_us", h.start_us},
                                      {"requests", h.requests},
                                      {"conflicts", h.conflicts},
                                      {"failures", h.failures},
                                      {"avg_ms", round3(h.avg_ms)},
                                      {"p95_ms", round3(h.p95_ms)},
                                      {"status", to_string(h.status)}});
    json::array models, clients, instances;
    for (const auto& m : d.top_models)
        models.push_back(json::object{{"model", m.model}, {"mutations", m.mutations}, {"conflicts", m.conflicts}, {"failures", m.failures}});
    for (const auto& c : d.top_clients)
        clients.push_back(json::object{{"client_id", c.client_id}, {"requests", c.requests}, {"mutations", c.mutations}, {"failures", c.failures}});
    for (const auto& i : d.instances) instances.emplace_back(i);
    const auto& r = d.recorder;
    json::object doc{
        {"window", to_string(d.window)},
        {"instance", d.instance.empty() ? json::value(nullptr) : json::value(d.instance)},
        {"generated_at", format_iso8601(d.generated_at_us)},
        {"from", format_iso8601(d.from_us)},
        {"to", format_iso8601(d.to_us)},
        {"bucket_seconds", d.bucket_width_us / 1'000'000},
        {"throughput",
         {{"requests", d.throughput.requests},
          {"pushes", d.throughput.pushes},
          {"pulls", d.throughput.pulls},
          {"mutations", d.throughput.mutations},
          {"snapshots", d.throughput.snapshots},
          {"applied", d.throughput.applied},
          {"rejected", d.throughput.rejected},
          {"conflicts", d.throughput.conflicts}}},
        {"latency",
         {{"avg_ms", round3(d.latency.avg_ms)},
          {"p50_ms", round3(d.latency.p50_ms)},
          {"p95_ms", round3(d.latency.p95_ms)},
          {"p99_ms", round3(d.latency.p99_ms)},
          {"max_ms", round3(d.latency.max_ms)}}},
        {"conflict_rate", round3(d.conflict_rate)},
        {"failure_rate", round3(d.failure_rate)},
        {"conflict_requests", d.conflict_requests},
        {"failed_requests", d.failed_requests},
        {"health", std::move(health)},
        {"top_models", std::move(models)},
        {"top_clients", std::move(clients)},
        {"instances", std::move(instances)},
        {"recorder",
         {{"offered", r.offered},
          {"queued", r.queued},
          {"written", r.written},
          {"dropped", r.dropped},
          {"dropped_by_reason",
           {{"queue_full", r.dropped_queue_full},
            {"too_large", r.dropped_too_large},
            {"storage_error", r.dropped_storage_error},
            {"shutdown", r.dropped_shutdown}}},
          {"storage_errors", r.storage_errors},
          {"truncated", r.truncated}}},
    };
    return detail::to_text(doc);
}

}  // namespace tether
