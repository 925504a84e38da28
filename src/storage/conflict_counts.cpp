#include "storage/conflict_counts.hpp"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>

#include "tether/errors.hpp"

namespace tether::detail {
namespace {

constexpr Micros H = conflict_hour_us;
constexpr Micros end_of_last_hour = max_conflict_hour_us + H;

static_assert(min_conflict_hour_us % H == 0 && max_conflict_hour_us % H == 0, "hour bounds must be aligned");
static_assert(min_conflict_hour_us <= 0 && max_conflict_hour_us > 0, "hour bounds out of range");

// Floor for times inside [min_conflict_hour_us, end_of_last_hour]: no overflow there.
Micros floor_hour(Micros t) noexcept { return t - ((t % H) + H) % H; }


}  // namespace

Micros conflict_hour(Micros t) noexcept {
    if (t < min_conflict_hour_us) return min_conflict_hour_us;
    if (t >= end_of_last_hour) return max_conflict_hour_us;
    return floor_hour(t);
}

void ConflictEntityCount::add(const ConflictEntityCount& d) noexcept {
    last_seen_us = conflicts == 0 ? d.last_seen_us : std::max(last_seen_us, d.last_seen_us);
    conflicts += d.conflicts;
}

void ConflictCounts::add(const ConflictCounts& delta) {
    for (const auto& [k, n] : delta.clients) clients[k] += n;
    for (const auto& [k, e] : delta.entities) entities[k].add(e);
    for (const auto& [k, n] : delta.fields) fields[k] += n;
}

bool last_ended_conflict_hour(Micros before_us, Micros& hour_start_max) noexcept {
    if (before_us < min_conflict_hour_us + H) return false;
    // start + H <= before  <=>  start <= before - H; starts are hour-aligned, so floor it.
    hour_start_max = before_us >= end_of_last_hour ? max_conflict_hour_us : floor_hour(before_us - H);
    return true;
}

std::size_t ConflictCounts::prune(Micros before_us) {
    Micros last = 0;
    if (!last_ended_conflict_hour(before_us, last)) return 0;
    std::size_t deleted = 0;
    auto prune_map = [&](auto& m) {
        // Keys start with the hour, so the hours that ended are a prefix; "" sorts first.
        auto end = m.lower_bound(ConflictHourKey{last + H, {}, {}, {}});
        deleted += static_cast<std::size_t>(std::distance(m.begin(), end));
        m.erase(m.begin(), end);
    };
    prune_map(clients);
    prune_map(entities);
    prune_map(fields);
    return deleted;
}

ConflictCounts conflict_count_delta(const std::vector<CapturedRequest>& batch) {
    ConflictCounts d;
    std::set<std::string_view> seen_fields;
    for (const auto& c : batch)
        for (const auto& m : c.mutations) {
            if (!m.conflict || c.request.is_replay()) continue;
            const Micros hour = conflict_hour(m.started_at_us);
            d.clients[ConflictHourKey{hour, m.instance, m.model, m.client_id}] += 1;
            d.entities[ConflictHourKey{hour, m.instance, m.model, m.entity_id}].add({1, m.started_at_us});
            seen_fields.clear();
            for (const auto& f : m.conflict->fields)
                if (seen_fields.insert(f.path).second) d.fields[ConflictHourKey{hour, m.instance, m.model, f.path}] += 1;
        }
    return d;
}

ConflictPatternRange conflict_pattern_range(const ConflictPatternQuery& q) {
    if (q.to_us < q.from_us) throw InvalidArgument("to", "must not be before from");
    ConflictPatternRange r;
    r.from_us = conflict_hour(q.from_us);
    if (q.to_us <= min_conflict_hour_us)
        r.to_us = min_conflict_hour_us;
    else if (q.to_us >= end_of_last_hour)
        r.to_us = end_of_last_hour;
    else {
        const Micros f = floor_hour(q.to_us);
        r.to_us = f == q.to_us ? f : f + H;
    }
    if (r.to_us < r.from_us) r.to_us = r.from_us;  // only when both were clamped to the ends
    const std::uint64_t hours =
        (static_cast<std::uint64_t>(r.to_us) - static_cast<std::uint64_t>(r.from_us)) / static_cast<std::uint64_t>(H);
    if (hours > max_conflict_pattern_hours)
        throw InvalidArgument("to", "the range covers " + std::to_string(hours) + " hours; at most " +
                                        std::to_string(max_conflict_pattern_hours) + " are allowed");
    r.hours = static_cast<std::size_t>(hours);
    return r;
}

void fill_conflict_buckets(ConflictPatterns& out, const ConflictPatternRange& range,
                           const std::map<Micros, std::uint64_t>& per_hour) {
    out.from_us = range.from_us;
    out.to_us = range.to_us;
    out.by_bucket.clear();
    out.by_bucket.reserve(range.hours);
    out.total = 0;
    auto it = per_hour.begin();
    for (std::size_t i = 0; i < range.hours; ++i) {
        const Micros start = range.from_us + static_cast<Micros>(i) * H;
        ConflictPatterns::ByBucket b;
        b.start_us = start;
        while (it != per_hour.end() && it->first < start) ++it;
        if (it != per_hour.end() && it->first == start) b.conflicts = it->second;
        out.total += b.conflicts;
        out.by_bucket.push_back(b);
    }
}

bool conflict_order(const ConflictPatterns::ByModel& a, const ConflictPatterns::ByModel& b) noexcept {
    if (a.conflicts != b.conflicts) return a.conflicts > b.conflicts;
    return a.model < b.model;
}
bool conflict_order(const ConflictPatterns::ByClient& a, const ConflictPatterns::ByClient& b) noexcept {
    if (a.conflicts != b.conflicts) return a.conflicts > b.conflicts;
    return a.client_id < b.client_id;
}
bool conflict_order(const ConflictPatterns::ByModelClient& a, const ConflictPatterns::ByModelClient& b) noexcept {
    if (a.conflicts != b.conflicts) return a.conflicts > b.conflicts;
    return std::tie(a.model, a.client_id) < std::tie(b.model, b.client_id);
}
bool conflict_order(const ConflictPatterns::Entity& a, const ConflictPatterns::Entity& b) noexcept {
    if (a.conflicts != b.conflicts) return a.conflicts > b.conflicts;
    if (a.last_seen_us != b.last_seen_us) return a.last_seen_us > b.last_seen_us;
    return std::tie(a.entity_id, a.model) < std::tie(b.entity_id, b.model);
}
bool conflict_order(const ConflictPatterns::Field& a, const ConflictPatterns::Field& b) noexcept {
    if (a.conflicts != b.conflicts) return a.conflicts > b.conflicts;
    return std::tie(a.model, a.field) < std::tie(b.model, b.field);
}

ConflictPatterns ConflictCounts::patterns(const ConflictPatternQuery& q) const {
    const auto range = conflict_pattern_range(q);
    ConflictPatterns out;
    const ConflictHourKey lo{range.from_us, {}, {}, {}}, hi{range.to_us, {}, {}, {}};  // "" sorts first
    auto wanted = [&](const ConflictHourKey& k) { return q.instance.empty() || std::get<1>(k) == q.instance; };

    std::map<Micros, std::uint64_t> per_hour;
    std::map<std::string, std::uint64_t> models, clients_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> model_clients;
    for (auto it = clients.lower_bound(lo), end = clients.lower_bound(hi); it != end; ++it) {
        if (!wanted(it->first)) continue;
        const auto& [hour, instance, model, client] = it->first;
        per_hour[hour] += it->second;
        models[model] += it->second;
        clients_[client] += it->second;
        model_clients[{model, client}] += it->second;
    }
    fill_conflict_buckets(out, range, per_hour);
    for (const auto& [m, n] : models) out.by_model.push_back({m, n});
    for (const auto& [c, n] : clients_) out.by_client.push_back({c, n});
    for (const auto& [mc, n] : model_clients) out.by_model_client.push_back({mc.first, mc.second, n});

    std::map<std::pair<std::string, std::string>, ConflictEntityCount> ents;
    for (auto it = entities.lower_bound(lo), end = entities.lower_bound(hi); it != end; ++it)
        if (wanted(it->first)) ents[{std::get<2>(it->first), std::get<3>(it->first)}].add(it->second);
    for (const auto& [me, e] : ents) out.top_entities.push_back({me.first, me.second, e.conflicts, e.last_seen_us});

    std::map<std::pair<std::string, std::string>, std::uint64_t> flds;
    for (auto it = fields.lower_bound(lo), end = fields.lower_bound(hi); it != end; ++it)
        if (wanted(it->first)) flds[{std::get<2>(it->first), std::get<3>(it->first)}] += it->second;
    for (const auto& [mf, n] : flds) out.top_fields.push_back({mf.first, mf.second, n});

    keep_top(out.by_model, q.top_n);
    keep_top(out.by_client, q.top_n);
    keep_top(out.by_model_client, q.top_n);
    keep_top(out.top_entities, q.top_n);
    keep_top(out.top_fields, q.top_n);
    return out;
}

ConflictRecord conflict_record(const MutationRecord& m, const std::string& client_version) {
    ConflictRecord r;
    r.id = m.id;
    r.request_id = m.request_id;
    r.mutation_id = m.mutation_id;
    r.entity_id = m.entity_id;
    r.model = m.model;
    r.operation = m.operation;
    r.client_id = m.client_id;
    r.client_version = client_version;
    r.instance = m.instance;
    r.started_at_us = m.started_at_us;
    r.payload_json = m.payload_json;
    r.state_before_json = m.state_before_json;
    r.outcome = m.outcome;
    if (m.conflict) {
        const ConflictInfo& c = *m.conflict;
        r.server_state_json = c.server_state_json;
        r.resolver = c.resolver;
        r.resolution = c.resolution;
        r.reason = c.reason.empty() ? m.reason : c.reason;  // the pipeline copies the response reason in
        r.server_updated_at = c.server_updated_at;
        r.fields = c.fields;
        r.reported_by_host = c.reported_by_host;
        r.reported_in_response = c.reported_in_response;
    } else {
        r.reason = m.reason;
    }
    return r;
}

}  // namespace tether::detail
