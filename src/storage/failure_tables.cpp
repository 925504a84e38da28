// FailureTables: the memory backend's failure queries, by scans over its ordered maps. The
// SQLite backend answers the same questions in SQL (storage/sqlite/failure_tables.cpp); the
// contract suite holds both to the same results.
#include <algorithm>

#include "storage/failure_counts.hpp"
#include "storage/keys.hpp"
#include "storage/memory/keyset_page.hpp"
#include "tether/errors.hpp"

namespace tether::detail {
namespace {

bool matches(const FailureRecord& f, const FailureFilter& q) {
    if (!q.fingerprint.empty() && f.fingerprint != q.fingerprint) return false;
    if (!q.model.empty() && f.model != q.model) return false;
    if (!q.client_id.empty() && f.client_id != q.client_id) return false;
    if (!q.reason.empty() && f.reason != q.reason) return false;
    if (!q.instance.empty() && f.instance != q.instance) return false;
    if (q.kind && f.kind != *q.kind) return false;
    return true;  // the time range bounds the keyset walk
}

template <class Map, class F>
void for_fingerprint(const Map& m, const std::string& fp, F&& f) {
    for (auto it = m.lower_bound(typename Map::key_type{fp, {}, {}}); it != m.end() && std::get<0>(it->first) == fp;
         ++it)
        f(it->first, it->second);
}

}  // namespace

void FailureTables::write(const FailureCounts& delta, std::vector<FailureRecord> failures) {
    counts.add(delta);
    for (const auto& [id, c] : delta.clients) {
        auto& row = counts.clients[id];
        if (row.seq == 0) row.seq = next_client_seq++;
    }
    for (auto& f : failures) {
        auto key = std::make_pair(f.started_at_us, f.id);
        rows.insert_or_assign(std::move(key), std::move(f));
    }
}

void FailureTables::erase_request(const std::string& request_id, const std::vector<std::string>& mutation_ids,
                                  Micros started_at_us) {
    rows.erase({started_at_us, request_id});
    for (const auto& id : mutation_ids) rows.erase({started_at_us, id});
}

Page<FailureRecord> FailureTables::list(const FailureFilter& filter, const PageRequest& page) const {
    validate_page(page);
    return keyset_page(
        rows, filter.from_us, filter.to_us, page, [&](const auto& kv) { return matches(kv.second, filter); },
        [](const auto& kv) { return kv.second; });
}

std::optional<FailureGroup> FailureTables::group(std::string_view fingerprint, std::string_view instance,
                                                 Micros now_us, const FailureThresholds& t, bool hourly) const {
    const std::string fp(fingerprint);
    FailureGroup g;
    g.fingerprint = fp;
    bool found = false;
    for (auto it = counts.groups.lower_bound({fp, {}}); it != counts.groups.end() && it->first.first == fp; ++it) {
        if (!instance.empty() && it->first.second != instance) continue;
        const GroupRow& row = it->second;
        if (!found) {
            g.kind = row.kind;
            g.model = row.model;
            g.reason = row.reason;
            g.fields = row.fields;
            g.first_seen_us = row.seen.first_us;
            g.last_seen_us = row.seen.last_us;
        }
        found = true;
        g.count += row.seen.count;
        g.first_seen_us = std::min(g.first_seen_us, row.seen.first_us);
        g.last_seen_us = std::max(g.last_seen_us, row.seen.last_us);
    }
    if (!found) return std::nullopt;

    std::map<std::string, FailureGroupClient> clients;
    for_fingerprint(counts.group_clients, fp, [&](const GroupClientKey& k, const SeenCount& s) {
        if (!instance.empty() && std::get<1>(k) != instance) return;
        auto& c = clients[std::get<2>(k)];
        c.client_id = std::get<2>(k);
        c.failures += s.count;
        c.last_seen_us = std::max(c.last_seen_us, s.last_us);
    });
    g.clients = clients.size();
    // Candidates: the most failing clients and every client that could be systematic.
    std::vector<FailureGroupClient> all;
    for (auto& [id, c] : clients) all.push_back(c);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return a.failures != b.failures ? a.failures > b.failures : a.client_id < b.client_id;
    });
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (i >= max_top_clients && all[i].failures < t.systematic_min_failures) break;
        auto& c = all[i];
        if (g.kind == FailureKind::mutation) {
            auto cm = counts.client_models.find({c.client_id, g.model});
            c.attempts = cm == counts.client_models.end() ? 0 : cm->second.mutations;
        } else {
            auto cl = counts.clients.find(c.client_id);
            c.attempts = cl == counts.clients.end() ? 0 : cl->second.requests;
        }
        g.top_clients.push_back(c);
    }

    GroupBuckets buckets(now_us, hourly);
    for_fingerprint(counts.buckets, fp, [&](const BucketKey& k, std::uint64_t n) {
        if (instance.empty() || std::get<1>(k) == instance) buckets.add(std::get<2>(k), n);
    });
    buckets.finish(g);

    for (auto it = rows.rbegin(); it != rows.rend() && g.sample_ids.size() < 5; ++it) {
        const FailureRecord& f = it->second;
        if (f.fingerprint != fp || (!instance.empty() && f.instance != instance)) continue;
        g.sample_ids.push_back(f.id);
        g.sample_request_ids.push_back(f.request_id);
    }
    finish_group(g, t);
    return g;
}

std::vector<FailureGroup> FailureTables::groups(const FailureGroupQuery& q, const FailureThresholds& t) const {
    validate_limit(q.limit);
    struct Candidate {
        std::string fingerprint;
        std::uint64_t count = 0;
        Micros last_seen_us = 0;
    };
    std::map<std::string, Candidate> by_fp;
    for (const auto& [key, row] : counts.groups) {
        if (!q.instance.empty() && key.second != q.instance) continue;
        if (!q.model.empty() && row.model != q.model) continue;
        if (!q.reason.empty() && row.reason != q.reason) continue;
        auto& c = by_fp[key.first];
        c.fingerprint = key.first;
        c.count += row.seen.count;
        c.last_seen_us = std::max(c.last_seen_us, row.seen.last_us);
    }
    std::vector<Candidate> order;
    for (auto& [fp, c] : by_fp) {
        if (!q.client_id.empty()) {
            bool has = false;
            for_fingerprint(counts.group_clients, fp, [&](const GroupClientKey& k, const SeenCount&) {
                has = has || ((q.instance.empty() || std::get<1>(k) == q.instance) && std::get<2>(k) == q.client_id);
            });
            if (!has) continue;
        }
        order.push_back(c);
    }
    std::sort(order.begin(), order.end(), [&](const Candidate& a, const Candidate& b) {
        if (q.sort == FailureGroupQuery::Sort::last_seen) {
            if (a.last_seen_us != b.last_seen_us) return a.last_seen_us > b.last_seen_us;
        } else if (a.count != b.count) {
            return a.count > b.count;
        }
        return a.fingerprint < b.fingerprint;
    });
    return first_groups(order, q,
                        [&](const Candidate& c) { return group(c.fingerprint, q.instance, q.now_us, t, false); });
}

Page<ClientSummary> FailureTables::clients(const ClientFilter& filter, const PageRequest& page,
                                           const FailureThresholds& t) const {
    validate_page(page);
    std::optional<CursorKey> c;
    if (!page.cursor.empty()) c = decode_cursor(page.cursor);
    using Pos = std::pair<Micros, std::uint64_t>;  // (last_seen, seq), descending
    std::optional<Pos> after;
    if (c) {
        after = Pos{c->primary, static_cast<std::uint64_t>(client_cursor_seq(*c))};
    }
    std::vector<std::pair<Pos, const std::string*>> hits;
    for (const auto& [id, row] : counts.clients) {
        Pos pos{row.last_seen_us, row.seq};
        if (after && !(pos < *after)) continue;
        if (filter.stuck_only && !client_summary(id, row, t).stuck) continue;
        hits.emplace_back(pos, &id);
    }
    std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    Page<ClientSummary> out;
    for (const auto& [pos, id] : hits) {
        if (out.items.size() == page.limit) {
            const auto& last = counts.clients.at(out.items.back().client_id);
            out.next_cursor = encode_cursor({last.last_seen_us, std::to_string(last.seq)});
            break;
        }
        out.items.push_back(client_summary(*id, counts.clients.at(*id), t));
    }
    return out;
}

std::optional<ClientSummary> FailureTables::client(std::string_view client_id, const FailureThresholds& t) const {
    auto it = counts.clients.find(std::string(client_id));
    if (it == counts.clients.end()) return std::nullopt;
    return client_summary(it->first, it->second, t);
}

std::vector<ClientModelCounts> FailureTables::client_models(std::string_view client_id) const {
    std::vector<ClientModelCounts> out;
    const std::string id(client_id);
    for (auto it = counts.client_models.lower_bound({id, {}}); it != counts.client_models.end() && it->first.first == id;
         ++it)
        out.push_back({it->first.second, it->second.mutations, it->second.failures, it->second.conflicts});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.mutations != b.mutations ? a.mutations > b.mutations : a.model < b.model;
    });
    return out;
}

std::vector<PoisonMutation> FailureTables::poison(const PoisonQuery& q, const FailureThresholds& t) const {
    validate_limit(q.limit);
    std::vector<PoisonMutation> out;
    const std::uint32_t min_streak = std::max<std::uint32_t>(1, t.poison_after_failures);
    for (const auto& [mid, p] : counts.poison) {
        if (p.failing_streak < min_streak) continue;
        if (!q.client_id.empty() && p.client_id != q.client_id) continue;
        PoisonMutation m;
        m.mutation_id = mid;
        m.client_id = p.client_id;
        m.model = p.model;
        m.entity_id = p.entity_id;
        m.attempts = p.attempts;
        m.failures = p.failures;
        m.failing_streak = p.failing_streak;
        m.last_reason = p.last_reason;
        m.last_request_id = p.last_request_id;
        m.first_seen_us = p.first_seen_us;
        m.last_seen_us = p.last_seen_us;
        if (auto c = counts.clients.find(p.client_id); c != counts.clients.end())
            m.client_last_success_us = c->second.last_success_us;
        out.push_back(std::move(m));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.last_seen_us != b.last_seen_us ? a.last_seen_us > b.last_seen_us : a.mutation_id < b.mutation_id;
    });
    if (out.size() > q.limit) out.resize(q.limit);
    return out;
}

}  // namespace tether::detail
