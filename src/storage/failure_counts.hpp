#pragma once
// Failure rows and the counts behind failure groups, clients and poison mutations, shared by
// every backend: what one batch adds (computed in exactly one place so that backends cannot
// count differently), how counts merge, how a group is finished (systematic flag, order,
// explanation), and an in-memory table set that answers every failure query (the memory
// backend stores its counts in it; SQLite keeps the same rows in tables, see
// storage/sqlite/failure_tables.cpp).
//
// Merge rules (associative, so concurrent writers can merge with upserts):
//   groups, group clients, buckets, client models: counts add, first = min, last = max;
//   clients: counts add, first/last/last_success = min/max, version and instance follow the
//     latest request; failing_streak = reset ? delta.streak : stored + delta.streak, where a
//     delta resets when it holds an ok push (its streak then counts the bad pushes after it);
//   poison: the same streak rule over one mutation_id's attempts (an applied attempt resets).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tether/failures.hpp"
#include "tether/records.hpp"
#include "tether/storage.hpp"

namespace tether::detail {

/// Failure buckets are 5 minutes wide, like telemetry rollups (the trend needs that resolution).
inline constexpr Micros failure_bucket_us = 5 * 60 * 1'000'000LL;
/// Floor to a bucket start, also for negative times; clamped so that arithmetic never overflows.
Micros failure_bucket(Micros t) noexcept;
/// Groups list at most this many fields in their fingerprint; more count as one "…" entry.
inline constexpr std::size_t max_fingerprint_fields = 16;

/// 16 lowercase hex digits (FNV-1a 64 over kind, model, reason and fields).
std::string failure_fingerprint(FailureKind kind, const std::string& model, const std::string& reason,
                                const std::vector<std::string>& fields);

/// The failures in one captured request: one per rejected mutation, plus one for the request
/// itself when its outcome is `error`.
std::vector<FailureRecord> failures_of(const CapturedRequest& c);

struct SeenCount {
    std::uint64_t count = 0;
    Micros first_us = 0, last_us = 0;
    void add(std::uint64_t n, Micros first, Micros last) noexcept;
};

struct GroupRow {
    FailureKind kind = FailureKind::mutation;
    std::string model, reason;
    std::vector<std::string> fields;
    SeenCount seen;
};

struct ClientRow {
    std::string client_version, instance;  ///< of the latest request
    Micros first_seen_us = 0, last_seen_us = 0;
    std::optional<Micros> last_success_us, last_push_success_us;
    std::uint64_t requests = 0, pushes = 0, pulls = 0, mutations = 0, failed_requests = 0, conflicted_requests = 0;
    std::uint32_t failing_streak = 0;
    bool streak_reset = false;  ///< deltas only: an ok push happened (see the merge rules)
    std::uint64_t seq = 0;      ///< memory backend: insertion order, the keyset tie-breaker
    void add(const ClientRow& later);
};

struct ClientModelRow {
    std::uint64_t mutations = 0, failures = 0, conflicts = 0;
    Micros last_seen_us = 0;
    void add(const ClientModelRow& d) noexcept;
};

struct PoisonRow {
    std::string client_id, model, entity_id, last_reason, last_request_id;
    std::uint64_t attempts = 0, failures = 0;
    std::uint32_t failing_streak = 0;
    bool streak_reset = false;  ///< deltas only: an attempt was applied
    Micros first_seen_us = 0, last_seen_us = 0;
    void add(const PoisonRow& later);
};

using GroupKey = std::pair<std::string, std::string>;                   ///< fingerprint, instance
using GroupClientKey = std::tuple<std::string, std::string, std::string>;  ///< fingerprint, instance, client
using BucketKey = std::tuple<std::string, std::string, Micros>;          ///< fingerprint, instance, bucket start
using ClientModelKey = std::pair<std::string, std::string>;              ///< client, model

/// A set of failure counts: what one batch adds, or (memory backend) everything stored.
struct FailureCounts {
    std::map<GroupKey, GroupRow> groups;
    std::map<GroupClientKey, SeenCount> group_clients;
    std::map<BucketKey, std::uint64_t> buckets;
    std::map<std::string, ClientRow> clients;  ///< "" client ids are not tracked
    std::map<ClientModelKey, ClientModelRow> client_models;
    /// Deltas: mutation ids that failed in the batch, and applied ones (streak_reset, no
    /// failure) that only update a row already stored. Stored: ids that ever failed.
    std::map<std::string, PoisonRow> poison;

    void add(const FailureCounts& delta);
    /// Deletes groups, group clients, buckets, clients, client models and poison rows last
    /// seen (bucket: ended) before `before_us`; returns how many rows went.
    std::size_t prune(Micros before_us);
    /// Keeps the `keep` most recently seen poison rows (fewer when several share the
    /// cut-off time, as the SQL backends do); returns how many went.
    std::size_t trim_poison(std::uint64_t keep);
};

/// What `batch` adds to the counts, and its failure rows (appended to `failures`).
FailureCounts failure_delta(const std::vector<CapturedRequest>& batch, std::vector<FailureRecord>& failures);

/// Turns a group's 5-minute bucket counts into its trend and, when `hourly`, its 24 hours up
/// to now. The trend's last hour is the 12 buckets that end with the one holding `now`, the
/// previous hour the 12 before; the hours are the 24 that end with the hour holding `now`.
class GroupBuckets {
public:
    GroupBuckets(Micros now_us, bool hourly) noexcept;
    /// Bucket starts outside [from_us, to_us) do not matter: backends need not read them.
    Micros from_us() const noexcept;
    Micros to_us() const noexcept;
    void add(Micros bucket_start, std::uint64_t count);
    /// Sets last_hour, previous_hour and (when hourly) hourly.
    void finish(FailureGroup& group) const;

private:
    Micros prev_from_, last_from_, last_to_, hours_from_;
    bool hourly_;
    std::uint64_t last_ = 0, previous_ = 0;
    std::map<Micros, std::uint64_t> per_hour_;
};

/// Finishes a group whose top_clients hold every candidate client (failures and attempts
/// set): ratio, systematic flags, order (systematic first, then failures desc, then id),
/// the top list cut to `max_top_clients`, and the explanation.
inline constexpr std::size_t max_top_clients = 5;
void finish_group(FailureGroup& group, const FailureThresholds& thresholds);

/// The sentence that explains a group (and its systematic clients, when any).
std::string explain(const FailureGroup& group);

/// Throws InvalidArgument("limit", …) outside 1..PageRequest::max_limit.
void validate_limit(std::size_t limit);

/// failure_groups()' answer from candidates already in the query's order: the first
/// query.limit groups that `group_of(candidate)` (an optional<FailureGroup>) finds, systematic
/// ones only when query.systematic_only. Every backend selects with this one rule.
template <class Candidates, class GroupOf>
std::vector<FailureGroup> first_groups(const Candidates& candidates, const FailureGroupQuery& query,
                                       GroupOf&& group_of) {
    std::vector<FailureGroup> out;
    for (const auto& c : candidates) {
        if (out.size() == query.limit) break;
        auto g = group_of(c);
        if (g && (!query.systematic_only || g->systematic)) out.push_back(std::move(*g));
    }
    return out;
}

/// The memory backend's answer to every failure query, over counts and rows it owns.
struct FailureTables {
    FailureCounts counts;
    std::map<std::pair<Micros, std::string>, FailureRecord> rows;  ///< by (started_at, id)
    std::uint64_t next_client_seq = 1;

    void write(const FailureCounts& delta, std::vector<FailureRecord> failures);
    void erase_request(const std::string& request_id, const std::vector<std::string>& mutation_ids,
                       Micros started_at_us);

    Page<FailureRecord> list(const FailureFilter& filter, const PageRequest& page) const;
    std::vector<FailureGroup> groups(const FailureGroupQuery& query, const FailureThresholds& t) const;
    std::optional<FailureGroup> group(std::string_view fingerprint, std::string_view instance, Micros now_us,
                                      const FailureThresholds& t, bool hourly = true) const;
    Page<ClientSummary> clients(const ClientFilter& filter, const PageRequest& page, const FailureThresholds& t) const;
    std::optional<ClientSummary> client(std::string_view client_id, const FailureThresholds& t) const;
    std::vector<ClientModelCounts> client_models(std::string_view client_id) const;
    std::vector<PoisonMutation> poison(const PoisonQuery& query, const FailureThresholds& t) const;
};

/// A ClientSummary from a stored row.
ClientSummary client_summary(const std::string& client_id, const ClientRow& row, const FailureThresholds& t);

}  // namespace tether::detail
