#include "summary.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

namespace fleet {
namespace json = boost::json;

namespace {

json::object counts_json(const Counts& c, bool with_requests) {
    json::object o;
    if (with_requests) {
        o["requests"] = c.requests;
        o["unattributed"] = c.unattributed;
    }
    o["mutations"] = c.mutations;
    o["applied"] = c.applied;
    o["rejected"] = c.rejected;
    o["conflicts"] = c.conflicts;
    o["resent"] = c.resent;
    json::object reasons;
    for (const auto& [reason, n] : c.rejected_by_reason) reasons[reason] = n;
    o["rejected_by_reason"] = std::move(reasons);
    return o;
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

double round3(double v) { return static_cast<double>(static_cast<long long>(v * 1000 + 0.5)) / 1000; }

}  // namespace

void Counts::merge(const Counts& o) {
    requests += o.requests;
    unattributed += o.unattributed;
    mutations += o.mutations;
    applied += o.applied;
    rejected += o.rejected;
    conflicts += o.conflicts;
    resent += o.resent;
    for (const auto& [k, v] : o.rejected_by_reason) rejected_by_reason[k] += v;
}

void Summary::merge(const Summary& o) {
    requests += o.requests;
    pushes += o.pushes;
    pulls += o.pulls;
    snapshots += o.snapshots;
    http_errors += o.http_errors;
    transport_errors += o.transport_errors;
    unattributed += o.unattributed;
    total.merge(o.total);
    for (const auto& [k, v] : o.statuses) statuses[k] += v;
    for (const auto& [k, v] : o.by_model) by_model[k].merge(v);
    for (const auto& [k, v] : o.by_client) by_client[k].merge(v);
    for (const auto& [k, v] : o.by_version) by_version[k].merge(v);
    for (const auto& [k, models] : o.by_version_model)
        for (const auto& [m, v] : models) by_version_model[k][m].merge(v);
    for (const auto& [k, v] : o.client_versions) client_versions[k] = v;
    latencies_ms.insert(latencies_ms.end(), o.latencies_ms.begin(), o.latencies_ms.end());
}

std::string Summary::to_json(double elapsed_s, const std::string& url, std::uint64_t seed,
                             const std::string& broken_version) const {
    json::object o;
    o["url"] = url;
    o["seed"] = seed;
    o["elapsed_s"] = round3(elapsed_s);
    o["requests_per_s"] = round3(elapsed_s > 0 ? static_cast<double>(requests) / elapsed_s : 0.0);
    o["requests"] = requests;
    o["pushes"] = pushes;
    o["pulls"] = pulls;
    o["snapshots"] = snapshots;
    o["mutations"] = total.mutations;
    o["applied"] = total.applied;
    o["rejected"] = total.rejected;
    o["conflicts"] = total.conflicts;
    o["resent"] = total.resent;
    o["http_errors"] = http_errors;
    o["transport_errors"] = transport_errors;
    o["unattributed"] = unattributed;
    json::object reasons;
    for (const auto& [reason, n] : total.rejected_by_reason) reasons[reason] = n;
    o["rejected_by_reason"] = std::move(reasons);
    json::object statuses_json;
    for (const auto& [status, n] : statuses) statuses_json[std::to_string(status)] = n;
    o["http_statuses"] = std::move(statuses_json);

    std::vector<double> sorted = latencies_ms;
    std::sort(sorted.begin(), sorted.end());
    double sum = 0;
    for (double v : sorted) sum += v;
    json::object latency;
    latency["avg"] = round3(sorted.empty() ? 0 : sum / static_cast<double>(sorted.size()));
    latency["p50"] = round3(percentile(sorted, 50));
    latency["p95"] = round3(percentile(sorted, 95));
    latency["p99"] = round3(percentile(sorted, 99));
    latency["max"] = round3(sorted.empty() ? 0 : sorted.back());
    o["latency_ms"] = std::move(latency);

    json::object models;
    for (const auto& [name, c] : by_model) models[name] = counts_json(c, false);
    o["by_model"] = std::move(models);
    json::object versions;
    for (const auto& [name, c] : by_version) {
        auto v = counts_json(c, true);
        if (name == broken_version) v["broken"] = true;
        json::object per_model;
        if (auto it = by_version_model.find(name); it != by_version_model.end())
            for (const auto& [model, mc] : it->second) per_model[model] = counts_json(mc, false);
        v["by_model"] = std::move(per_model);
        versions[name] = std::move(v);
    }
    o["by_version"] = std::move(versions);
    json::object clients;
    for (const auto& [id, c] : by_client) {
        auto v = counts_json(c, true);
        if (auto it = client_versions.find(id); it != client_versions.end()) v["version"] = it->second;
        clients[id] = std::move(v);
    }
    o["by_client"] = std::move(clients);
    return json::serialize(o);
}

std::string Summary::to_text(double elapsed_s, const std::string& broken_version) const {
    char line[512];
    std::string out;
    std::snprintf(line, sizeof line, "%llu requests in %.2f s (%.0f req/s): %llu pushes, %llu pulls (%llu snapshots)\n",
                  static_cast<unsigned long long>(requests), elapsed_s,
                  elapsed_s > 0 ? static_cast<double>(requests) / elapsed_s : 0.0,
                  static_cast<unsigned long long>(pushes), static_cast<unsigned long long>(pulls),
                  static_cast<unsigned long long>(snapshots));
    out += line;
    std::snprintf(
        line, sizeof line,
        "%llu mutations: %llu applied, %llu rejected, %llu conflicts; %llu HTTP errors, %llu transport errors\n",
        static_cast<unsigned long long>(total.mutations), static_cast<unsigned long long>(total.applied),
        static_cast<unsigned long long>(total.rejected), static_cast<unsigned long long>(total.conflicts),
        static_cast<unsigned long long>(http_errors), static_cast<unsigned long long>(transport_errors));
    out += line;
    std::string reasons;
    for (const auto& [reason, n] : total.rejected_by_reason)
        reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(n);
    if (!reasons.empty()) out += "rejected by reason: " + reasons + "\n";
    for (const auto& [name, c] : by_model) {
        std::snprintf(line, sizeof line, "  %-8s %6llu mutations %6llu applied %6llu rejected %6llu conflicts\n",
                      name.empty() ? "(none)" : name.c_str(), static_cast<unsigned long long>(c.mutations),
                      static_cast<unsigned long long>(c.applied), static_cast<unsigned long long>(c.rejected),
                      static_cast<unsigned long long>(c.conflicts));
        out += line;
    }
    if (auto it = by_version.find(broken_version); it != by_version.end()) {
        std::snprintf(line, sizeof line, "broken version %s: %llu requests, %llu mutations, %llu rejected",
                      broken_version.c_str(), static_cast<unsigned long long>(it->second.requests),
                      static_cast<unsigned long long>(it->second.mutations),
                      static_cast<unsigned long long>(it->second.rejected));
        out += line;
        if (auto vm = by_version_model.find(broken_version); vm != by_version_model.end())
            if (auto p = vm->second.find("Project"); p != vm->second.end()) {
                std::snprintf(line, sizeof line, "; Project: %llu sent, %llu applied, %llu rejected",
                              static_cast<unsigned long long>(p->second.mutations),
                              static_cast<unsigned long long>(p->second.applied),
                              static_cast<unsigned long long>(p->second.rejected));
                out += line;
            }
        out += "\n";
    }
    return out;
}

}  // namespace fleet
