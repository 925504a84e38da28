#include "tether/telemetry_aggregator.hpp"

#include <algorithm>
#include <charconv>
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

void add_scalars(Rollup& into, const Rollup& r) {
    into.requests += r.requests;
    into.conflict_requests += r.conflict_requests;
    into.failed_requests += r.failed_requests;
    into.duration_sum_us += r.duration_sum_us;
    into.latency.merge(r.latency);
}

}  // namespace

TelemetryAggregator::TelemetryAggregator(TelemetryConfig config) : config_(std::move(config)) {}

RollupBatch TelemetryAggregator::rollup(const std::vector<CapturedRequest>& batch) const {
    std::map<std::tuple<Micros, Micros, std::string>, Rollup> by_key;
    for (const auto& c : batch) {
        const auto& r = c.request;
        if (r.is_replay()) continue;
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

    // Scalars per cell (instances combined) and for the whole window.
    std::vector<Rollup> cells(shape.cells);
    for (std::size_t i = 0; i < shape.cells; ++i) cells[i].start_us = doc.from_us + shape.width * static_cast<Micros>(i);
    Rollup total;
    std::vector<std::string> instances;
    for (const auto& r : storage.read_rollups(shape.width, doc.from_us, doc.to_us, instance, false)) {
        auto idx = static_cast<std::size_t>((r.start_us - doc.from_us) / shape.width);
        if (idx >= cells.size()) continue;
        add_scalars(cells[idx], r);
        total.merge(r, SIZE_MAX);
        instances.push_back(r.instance);
    }
    // Per-model and per-client breakdowns: whole hours from hourly rollups and only the
    // ragged edges from 5-minute ones, so a 24 h window reads ~47 maps instead of 288.
    Rollup breakdown;
    auto add_breakdowns = [&](Micros width, Micros from, Micros to) {
        if (from >= to) return;
        for (const auto& r : storage.read_rollups(width, from, to, instance, true)) {
            for (const auto& [name, m] : r.models) {
                auto& into = breakdown.models[name];
                into.mutations += m.mutations;
                into.conflicts += m.conflicts;
                into.failures += m.failures;
            }
            for (const auto& [id, c] : r.clients) {
                auto& into = breakdown.clients[id];
                into.requests += c.requests;
                into.mutations += c.mutations;
                into.failures += c.failures;
            }
        }
    };
    const Micros hour_from = floor_to(doc.from_us + one_hour_us - 1, one_hour_us);
    const Micros hour_to = floor_to(doc.to_us, one_hour_us);
    if (shape.width == one_hour_us || hour_from >= hour_to) {
        add_breakdowns(shape.width, doc.from_us, doc.to_us);
    } else {
        add_breakdowns(five_minutes_us, doc.from_us, hour_from);
        add_breakdowns(one_hour_us, hour_from, hour_to);
        add_breakdowns(five_minutes_us, hour_to, doc.to_us);
    }
    total.models = std::move(breakdown.models);
    total.clients = std::move(breakdown.clients);
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

const std::vector<double>& TelemetryCounters::duration_bounds_seconds() {
    static const std::vector<double> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
    return bounds;
}

void TelemetryCounters::count(const std::vector<CapturedRequest>& written) {
    const auto& bounds = duration_bounds_seconds();
    std::lock_guard<std::mutex> lock(mutex_);
    if (totals_.duration_buckets.empty()) totals_.duration_buckets.assign(bounds.size() + 1, 0);
    for (const auto& c : written) {
        const auto& r = c.request;
        if (r.is_replay()) {
            ++totals_.replays;
            continue;
        }
        const std::string kind = to_string(r.kind);
        ++totals_.requests[kind];
        if (r.failed()) ++totals_.failed_requests[kind];
        totals_.snapshots += r.snapshots;
        totals_.conflicts += r.conflicts;
        double seconds = static_cast<double>(std::max<Micros>(r.duration_us, 0)) / 1e6;
        auto bucket = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
        ++totals_.duration_buckets[bucket];
        totals_.duration_sum_seconds += seconds;
        ++totals_.duration_count;
        for (const auto& m : c.mutations) {
            std::pair<std::string, std::string> key{m.model, to_string(m.outcome)};
            auto it = totals_.mutations.find(key);
            if (it == totals_.mutations.end()) {
                std::size_t models = 0;  // distinct models so far (pairs share models)
                std::string last;
                for (const auto& [k, n] : totals_.mutations)
                    if (k.first != last) ++models, last = k.first;
                if (models >= max_models) key.first = std::string(other_clients_key);
                it = totals_.mutations.try_emplace(key, 0).first;
            }
            ++it->second;
        }
    }
}

TelemetryCounters::Snapshot TelemetryCounters::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    Snapshot s = totals_;
    if (s.duration_buckets.empty()) s.duration_buckets.assign(duration_bounds_seconds().size() + 1, 0);
    return s;
}

namespace {

// Label values escape backslash, double quote and newline (OpenMetrics ABNF).
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string number(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

void family(std::string& out, const char* name, const char* type, const char* help, const char* unit = nullptr) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    if (unit) {
        out += "# UNIT ";
        out += name;
        out += ' ';
        out += unit;
        out += '\n';
    }
}

void sample(std::string& out, const std::string& name_and_labels, std::uint64_t value) {
    out += name_and_labels;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

}  // namespace

std::string to_openmetrics(const TelemetryCounters::Snapshot& c, const RecorderStats& r) {
    std::string out;
    family(out, "tether_requests_total", "counter", "Sync requests captured and stored, by kind.");
    for (const char* kind : {"push", "pull"}) {
        auto it = c.requests.find(kind);
        sample(out, std::string("tether_requests_total{kind=\"") + kind + "\"}", it == c.requests.end() ? 0 : it->second);
    }
    family(out, "tether_failed_requests_total", "counter",
           "Captured requests that failed (HTTP >= 400, unparseable, protocol error or a rejected mutation).");
    for (const char* kind : {"push", "pull"}) {
        auto it = c.failed_requests.find(kind);
        sample(out, std::string("tether_failed_requests_total{kind=\"") + kind + "\"}",
               it == c.failed_requests.end() ? 0 : it->second);
    }
    family(out, "tether_mutations_total", "counter", "Pushed mutations by model and server outcome.");
    for (const auto& [key, n] : c.mutations)
        sample(out, "tether_mutations_total{model=\"" + label(key.first) + "\",outcome=\"" + label(key.second) + "\"}", n);
    family(out, "tether_snapshots_total", "counter", "Snapshots returned by pulls.");
    sample(out, "tether_snapshots_total", c.snapshots);
    family(out, "tether_conflicts_total", "counter", "Mutations that hit a conflict, whatever the resolution.");
    sample(out, "tether_conflicts_total", c.conflicts);
    family(out, "tether_replays_total", "counter",
           "Live replays recorded; they are operator actions, left out of the traffic counters above.");
    sample(out, "tether_replays_total", c.replays);

    family(out, "tether_request_duration_seconds", "histogram", "Sync request duration as measured by the host.",
           "seconds");
    const auto& bounds = TelemetryCounters::duration_bounds_seconds();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < c.duration_buckets.size(); ++i) {
        cumulative += c.duration_buckets[i];
        std::string le = i < bounds.size() ? number(bounds[i]) : "+Inf";
        sample(out, "tether_request_duration_seconds_bucket{le=\"" + le + "\"}", cumulative);
    }
    out += "tether_request_duration_seconds_sum " + number(c.duration_sum_seconds) + "\n";
    sample(out, "tether_request_duration_seconds_count", c.duration_count);

    family(out, "tether_recorder_offered_total", "counter", "Exchanges handed to the recorder.");
    sample(out, "tether_recorder_offered_total", r.offered);
    family(out, "tether_recorder_written_total", "counter", "Exchanges committed to storage.");
    sample(out, "tether_recorder_written_total", r.written);
    family(out, "tether_recorder_dropped_total", "counter", "Exchanges dropped, by reason.");
    sample(out, "tether_recorder_dropped_total{reason=\"queue_full\"}", r.dropped_queue_full);
    sample(out, "tether_recorder_dropped_total{reason=\"too_large\"}", r.dropped_too_large);
    sample(out, "tether_recorder_dropped_total{reason=\"storage_error\"}", r.dropped_storage_error);
    sample(out, "tether_recorder_dropped_total{reason=\"shutdown\"}", r.dropped_shutdown);
    family(out, "tether_recorder_storage_errors_total", "counter", "Failed storage write attempts (each retry counts).");
    sample(out, "tether_recorder_storage_errors_total", r.storage_errors);
    family(out, "tether_recorder_pruned_total", "counter", "Stored requests deleted by retention.");
    sample(out, "tether_recorder_pruned_total", r.pruned);
    family(out, "tether_recorder_cpu_seconds_total", "counter",
           "CPU time of the recorder's threads, by stage (process: parse, redact, diff; store: writes, retention).");
    out += "tether_recorder_cpu_seconds_total{stage=\"process\"} " + number(r.process_cpu_us / 1e6) + "\n";
    out += "tether_recorder_cpu_seconds_total{stage=\"store\"} " + number(r.store_cpu_us / 1e6) + "\n";
    family(out, "tether_recorder_queue_items", "gauge", "Exchanges waiting in the recorder queue.");
    sample(out, "tether_recorder_queue_items", r.queued);
    family(out, "tether_recorder_queue_bytes", "gauge", "Memory held by queued exchanges.", "bytes");
    sample(out, "tether_recorder_queue_bytes", r.queued_bytes);
    out += "# EOF\n";
    return out;
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
          {"truncated", r.truncated},
          {"pruned", r.pruned},
          {"cpu_seconds", {{"process", round3(r.process_cpu_us / 1e6)}, {"store", round3(r.store_cpu_us / 1e6)}}}}},
    };
    return detail::to_text(doc);
}

}  // namespace tether
