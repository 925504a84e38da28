// In-process Storage: ordered maps under a shared_mutex. Same keyset semantics as the
// SQLite backend (the contract suite runs against both), linear scans for filters.
#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "storage/conflict_counts.hpp"
#include "storage/failure_counts.hpp"
#include "storage/keys.hpp"
#include "storage/memory/keyset_page.hpp"
#include "tether/errors.hpp"
#include "tether/storage.hpp"

namespace tether {
namespace {

using detail::Key;
using detail::keyset_page;

using RollupKey = std::tuple<Micros, Micros, std::string>;  // (width_us, start_us, instance)

struct Entry {
    RequestRecord request;
    std::vector<MutationRecord> mutations;  // sorted by (seq, id)
    std::set<std::string> models;           // request models + mutation models: the model filter
};

bool matches(const Entry& e, const RequestFilter& f) {
    const auto& r = e.request;
    if (f.kind && r.kind != *f.kind) return false;
    if (!f.client_id.empty() && r.client_id != f.client_id) return false;
    if (!f.instance.empty() && r.instance != f.instance) return false;
    if (f.outcome && r.outcome != *f.outcome) return false;
    if (f.failed_only && !r.failed()) return false;
    if (!f.model.empty() && !e.models.count(f.model)) return false;
    return true;
}

bool matches(const MutationRecord& m, const ConflictFilter& f) {
    if (!f.model.empty() && m.model != f.model) return false;
    if (!f.client_id.empty() && m.client_id != f.client_id) return false;
    if (!f.entity_id.empty() && m.entity_id != f.entity_id) return false;
    if (!f.instance.empty() && m.instance != f.instance) return false;
    if (!f.resolver.empty() && m.conflict->resolver != f.resolver) return false;
    if (f.resolution && m.conflict->resolution != f.resolution) return false;
    return true;
}

bool matches(const MutationRecord& m, const MutationFilter& f) {
    if (f.outcome && m.outcome != *f.outcome) return false;
    if (f.conflicted_only && !m.conflict) return false;
    if (!f.model.empty() && m.model != f.model) return false;
    return true;
}


class MemoryStorage final : public Storage {
public:
    std::string describe() const override { return "memory"; }

    void write_batch(const std::vector<CapturedRequest>& batch, const RollupBatch& rollups) override {
        std::unique_lock lock(mutex_);
        // Validate everything first so that a bad batch leaves no trace (atomicity).
        std::unordered_set<std::string_view> new_requests, new_mutations;
        detail::check_batch_ids(batch, "memory");
        detail::check_rollups(rollups, "memory");
        for (const auto& c : batch) {
            if (by_id_.count(c.request.id) || !new_requests.insert(c.request.id).second)
                throw StorageError("memory: duplicate request id", false);
            for (const auto& m : c.mutations) {
                if (mutations_.count(m.id) || !new_mutations.insert(m.id).second)
                    throw StorageError("memory: duplicate mutation id", false);
            }
        }
        // What the batch adds to the hourly conflict counts, before anything changes.
        const auto conflict_delta = detail::conflict_count_delta(batch);
        std::vector<FailureRecord> failure_rows;
        const auto failure_delta = detail::failure_delta(batch, failure_rows);
        // Merge the rollups into copies first: nothing stored changes until all is computed.
        std::map<RollupKey, Rollup> merged;
        for (const auto& item : rollups.items) {
            RollupKey key{item.width_us, item.start_us, item.instance};
            auto it = merged.find(key);
            if (it == merged.end()) {
                auto stored = rollups_.find(key);
                Rollup base;
                if (stored != rollups_.end()) {
                    base = stored->second;
                } else {
                    base.width_us = item.width_us;
                    base.start_us = item.start_us;
                    base.instance = item.instance;
                }
                it = merged.emplace(std::move(key), std::move(base)).first;
            }
            it->second.merge(item, rollups.max_clients_per_bucket);
        }
        for (auto& [key, r] : merged) rollups_.insert_or_assign(key, std::move(r));
        if (!conflict_delta.empty()) conflict_counts_.add(conflict_delta);
        failures_.write(failure_delta, std::move(failure_rows));
        for (const auto& c : batch) {
            Entry e;
            e.request = c.request;
            e.mutations = c.mutations;
            e.models.insert(c.request.models.begin(), c.request.models.end());
            for (auto& m : e.mutations) {
                m.request_id = c.request.id;  // the batch grouping is authoritative
                if (!m.model.empty()) e.models.insert(m.model);
            }
            std::stable_sort(e.mutations.begin(), e.mutations.end(), [](const auto& a, const auto& b) {
                return std::tie(a.seq, a.id) < std::tie(b.seq, b.id);
            });
            auto it = requests_.emplace(Key{c.request.started_at_us, c.request.id}, std::move(e)).first;
            by_id_.emplace(c.request.id, it);
            if (!c.request.replay_of.empty()) replays_[c.request.replay_of].emplace(it->first, &it->second.request);
            for (const auto& m : it->second.mutations) {
                mutations_.emplace(m.id, &m);
                if (m.conflict) conflicts_.emplace(Key{m.started_at_us, m.id}, Conflicted{&m, &it->second.request});
            }
            mutation_count_ += it->second.mutations.size();
        }
    }

    Page<RequestRecord> list_requests(const RequestFilter& filter, const PageRequest& page) override {
        validate_page(page);
        std::shared_lock lock(mutex_);
        return keyset_page(
            requests_, filter.from_us, filter.to_us, page, [&](const auto& kv) { return matches(kv.second, filter); },
            [](const auto& kv) {
                RequestRecord r = kv.second.request;
                // List items are summaries: no bodies, headers or notes.
                r.request_body.clear();
                r.response_body.clear();
                r.headers.clear();
                r.notes.clear();
                r.redacted_paths.clear();
                r.replay_audit.reset();
                return r;
            });
    }

    std::optional<RequestRecord> get_request(std::string_view id) override {
        std::shared_lock lock(mutex_);
        auto it = by_id_.find(std::string(id));
        if (it == by_id_.end()) return std::nullopt;
        return it->second->second.request;
    }

    Page<MutationRecord> list_mutations(std::string_view request_id, const MutationFilter& filter,
                                        const PageRequest& page) override {
        validate_page(page);
        std::optional<CursorKey> after;
        if (!page.cursor.empty()) after = decode_cursor(page.cursor);
        std::shared_lock lock(mutex_);
        Page<MutationRecord> out;
        auto r = by_id_.find(std::string(request_id));
        if (r == by_id_.end()) return out;
        for (const auto& m : r->second->second.mutations) {
            if (after && std::pair<std::int64_t, std::string_view>(m.seq, m.id) <=
                             std::pair<std::int64_t, std::string_view>(after->primary, after->id))
                continue;
            if (!matches(m, filter)) continue;
            if (out.items.size() == page.limit) {
                out.next_cursor = encode_cursor({out.items.back().seq, out.items.back().id});
                break;
            }
            out.items.push_back(m);
        }
        return out;
    }

    std::optional<MutationRecord> get_mutation(std::string_view id) override {
        std::shared_lock lock(mutex_);
        auto it = mutations_.find(std::string(id));
        if (it == mutations_.end()) return std::nullopt;
        return *it->second;
    }

    std::vector<Rollup> read_rollups(Micros width_us, Micros from_us, Micros to_us, std::string_view instance,
                                     bool breakdowns) override {
        std::vector<Rollup> out;
        if (width_us <= 0 || from_us >= to_us) return out;
        std::shared_lock lock(mutex_);
        // "" sorts before every instance: the range is [(w, from, ""), (w, to, "")).
        auto end = rollups_.lower_bound(RollupKey{width_us, to_us, std::string()});
        for (auto it = rollups_.lower_bound(RollupKey{width_us, from_us, std::string()}); it != end; ++it)
            if (instance.empty() || it->second.instance == instance) {
                out.push_back(it->second);
                if (!breakdowns) {
                    out.back().models.clear();
                    out.back().clients.clear();
                }
            }
        return out;
    }

    std::size_t prune_rollups(Micros before_us) override {
        std::unique_lock lock(mutex_);
        std::size_t deleted = 0;
        for (auto it = rollups_.begin(); it != rollups_.end();) {
            const auto& [width, start, instance] = it->first;
            // end <= before, written so that it cannot overflow.
            if (before_us >= INT64_MIN + width && start <= before_us - width) {
                it = rollups_.erase(it);
                ++deleted;
            } else {
                ++it;
            }
        }
        conflict_counts_.prune(before_us);  // pattern hours and failure counts follow telemetry retention
        failures_.counts.prune(before_us);
        return deleted;
    }

    Page<ConflictRecord> list_conflicts(const ConflictFilter& filter, const PageRequest& page) override {
        validate_page(page);
        std::shared_lock lock(mutex_);
        return keyset_page(
            conflicts_, filter.from_us, filter.to_us, page,
            [&](const auto& kv) { return matches(*kv.second.mutation, filter); },
            [](const auto& kv) { return detail::conflict_record(*kv.second.mutation, kv.second.request->client_version); });
    }

    std::optional<ConflictRecord> get_conflict(std::string_view id) override {
        std::shared_lock lock(mutex_);
        auto it = mutations_.find(std::string(id));
        if (it == mutations_.end() || !it->second->conflict) return std::nullopt;
        auto c = conflicts_.find(Key{it->second->started_at_us, it->second->id});
        if (c == conflicts_.end()) return std::nullopt;  // cannot happen: indexed together
        return detail::conflict_record(*c->second.mutation, c->second.request->client_version);
    }

    ConflictPatterns conflict_patterns(const ConflictPatternQuery& query) override {
        std::shared_lock lock(mutex_);
        return conflict_counts_.patterns(query);
    }

    Page<FailureRecord> list_failures(const FailureFilter& filter, const PageRequest& page) override {
        std::shared_lock lock(mutex_);
        return failures_.list(filter, page);
    }
    std::vector<FailureGroup> failure_groups(const FailureGroupQuery& query, const FailureThresholds& t) override {
        std::shared_lock lock(mutex_);
        return failures_.groups(query, t);
    }
    std::optional<FailureGroup> failure_group(std::string_view fingerprint, std::string_view instance, Micros now_us,
                                              const FailureThresholds& t) override {
        std::shared_lock lock(mutex_);
        return failures_.group(fingerprint, instance, now_us, t);
    }
    Page<ClientSummary> list_clients(const ClientFilter& filter, const PageRequest& page,
                                     const FailureThresholds& t) override {
        std::shared_lock lock(mutex_);
        return failures_.clients(filter, page, t);
    }
    std::optional<ClientSummary> get_client(std::string_view client_id, const FailureThresholds& t) override {
        std::shared_lock lock(mutex_);
        return failures_.client(client_id, t);
    }
    std::vector<ClientModelCounts> client_models(std::string_view client_id) override {
        std::shared_lock lock(mutex_);
        return failures_.client_models(client_id);
    }
    std::vector<PoisonMutation> poison_mutations(const PoisonQuery& query, const FailureThresholds& t) override {
        std::shared_lock lock(mutex_);
        return failures_.poison(query, t);
    }

    Page<ReplayLink> list_replays(std::string_view original_id, const PageRequest& page) override {
        validate_page(page);
        std::shared_lock lock(mutex_);
        auto it = replays_.find(std::string(original_id));
        if (it == replays_.end()) return {};
        return keyset_page(
            it->second, std::nullopt, std::nullopt, page, [](const auto&) { return true; },
            [](const auto& kv) {
                const RequestRecord& r = *kv.second;
                return ReplayLink{r.id, r.replay_of, r.started_at_us, r.http_status, r.outcome, r.replay_audit};
            });
    }

    std::uint64_t count_requests() override {
        std::shared_lock lock(mutex_);
        return requests_.size();
    }
    std::uint64_t count_mutations() override {
        std::shared_lock lock(mutex_);
        return mutation_count_;
    }

    std::size_t prune(const RetentionPolicy& policy, Micros now_us, std::size_t max_requests_per_call) override {
        std::unique_lock lock(mutex_);
        if (policy.max_tracked_mutations > 0) failures_.counts.trim_poison(policy.max_tracked_mutations);
        // Both limits select a prefix of the oldest-first order; delete the longer prefix.
        const std::uint64_t excess = policy.excess_requests(requests_.size());
        const std::optional<Micros> cutoff = policy.age_cutoff(now_us);
        std::size_t deleted = 0;
        while (deleted < max_requests_per_call && !requests_.empty()) {
            auto it = requests_.begin();
            const bool too_old = cutoff && it->first.first < *cutoff;
            if (deleted >= excess && !too_old) break;
            std::vector<std::string> ids;
            for (const auto& m : it->second.mutations) {
                ids.push_back(m.id);
                mutations_.erase(m.id);
                if (m.conflict) conflicts_.erase(Key{m.started_at_us, m.id});
            }
            failures_.erase_request(it->first.second, ids, it->first.first);
            unlink_replay(it->first, it->second.request.replay_of);
            mutation_count_ -= it->second.mutations.size();
            by_id_.erase(it->first.second);
            requests_.erase(it);
            ++deleted;
        }
        return deleted;
    }

private:
    // A replay leaves its original's list with it (the caller holds the write lock).
    void unlink_replay(const Key& key, const std::string& original_id) {
        if (original_id.empty()) return;
        auto it = replays_.find(original_id);
        if (it == replays_.end()) return;
        it->second.erase(key);
        if (it->second.empty()) replays_.erase(it);
    }

    std::shared_mutex mutex_;
    std::map<Key, Entry> requests_;  // map nodes are stable: the indexes below point into them
    std::unordered_map<std::string, std::map<Key, Entry>::iterator> by_id_;
    std::unordered_map<std::string, const MutationRecord*> mutations_;
    // original id -> its replays by (started_at_us, id); points into requests_.
    std::unordered_map<std::string, std::map<Key, const RequestRecord*>> replays_;
    std::uint64_t mutation_count_ = 0;
    struct Conflicted {
        const MutationRecord* mutation;
        const RequestRecord* request;  // for client_version
    };
    std::map<Key, Conflicted> conflicts_;  // conflicted mutations by (started_at_us, id)
    std::map<RollupKey, Rollup> rollups_;  // independent of requests: prune() never touches it
    detail::ConflictCounts conflict_counts_;  // like rollups: pruned by prune_rollups only
    detail::FailureTables failures_;          // rows pruned with their requests, counts like rollups
};

}  // namespace

std::shared_ptr<Storage> make_memory_storage() { return std::make_shared<MemoryStorage>(); }

}  // namespace tether
