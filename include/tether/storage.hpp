#pragma once
// Storage: where captured requests live, and the queries the dashboard and tools run.
// Every list is keyset-paginated with an opaque cursor (never OFFSET), newest first.
// Implementations must be safe to use from the writer thread and query threads at once.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/conflicts.hpp"
#include "tether/failures.hpp"
#include "tether/records.hpp"
#include "tether/telemetry.hpp"

namespace tether {

/// Filters for request lists; empty/unset members do not filter.
struct RequestFilter {
    std::optional<ExchangeKind> kind;
    std::string client_id;
    std::string model;     ///< requests that pushed or pulled this model
    std::string instance;
    std::optional<RequestOutcome> outcome;
    bool failed_only = false;      ///< outcome rejected or error
    std::optional<Micros> from_us; ///< started_at >= from
    std::optional<Micros> to_us;   ///< started_at <  to
};

/// Filters for the mutations of one request.
struct MutationFilter {
    std::optional<MutationOutcome> outcome;
    bool conflicted_only = false;  ///< any detected conflict, whatever the outcome
    std::string model;
};

struct PageRequest {
    static constexpr std::size_t max_limit = 500;
    std::size_t limit = 50;  ///< 1..max_limit; anything else is an InvalidArgument
    std::string cursor;      ///< next_cursor of the previous page, or empty for the first
};

template <class T>
struct Page {
    std::vector<T> items;
    std::string next_cursor;  ///< empty on the last page
};

/// Telemetry rollups written with a batch: each is added into the stored rollup of the
/// same (width_us, start_us, instance), in the same transaction as the requests.
struct RollupBatch {
    std::vector<Rollup> items;
    std::size_t max_clients_per_bucket = 500;  ///< see Rollup::merge
};

/// Retention: both limits apply; 0 disables a limit.
/// Poison candidates prune() deletes at most per call (see RetentionPolicy::max_tracked_mutations).
inline constexpr std::uint64_t max_poison_trim_per_call = 50'000;

struct RetentionPolicy {
    Micros max_age_us = 0;          ///< delete requests that started before now - max_age
    std::uint64_t max_requests = 0; ///< keep at most this many requests (newest kept)
    /// Keep at most this many poison candidates (mutation ids that failed, tracked across
    /// re-pushes), the most recently seen; 0 = only telemetry retention (prune_rollups) ends them.
    std::uint64_t max_tracked_mutations = 0;

    /// Whether requests have a limit at all (prune() deletes none without one).
    bool limits_requests() const noexcept { return max_age_us > 0 || max_requests > 0; }
    /// How many of `stored` requests the count limit asks to delete (0 without one).
    std::uint64_t excess_requests(std::uint64_t stored) const noexcept {
        return max_requests > 0 && stored > max_requests ? stored - max_requests : 0;
    }
    /// Requests that started before this are too old at `now_us`; nullopt without an age
    /// limit. Saturates: a cutoff below the int64 range keeps everything.
    std::optional<Micros> age_cutoff(Micros now_us) const noexcept {
        if (max_age_us <= 0) return std::nullopt;
        if (now_us < std::numeric_limits<Micros>::min() + max_age_us) return std::numeric_limits<Micros>::min();
        return now_us - max_age_us;
    }
};

class Storage {
public:
    virtual ~Storage() = default;

    /// "memory", "sqlite:/path/to/file.db", …
    virtual std::string describe() const = 0;

    /// Store a batch atomically: all of it or nothing (throws StorageError). Request and
    /// mutation ids must be unique and 1-64 characters of [0-9A-Za-z_-] (the pipeline uses
    /// ULIDs); each mutation belongs to the request it is listed under, whatever its request_id.
    virtual void write_batch(const std::vector<CapturedRequest>& batch, const RollupBatch& rollups = {}) = 0;

    /// Request list, newest first. Items carry no bodies, headers or notes.
    virtual Page<RequestRecord> list_requests(const RequestFilter& filter, const PageRequest& page) = 0;
    virtual std::optional<RequestRecord> get_request(std::string_view id) = 0;

    /// Mutations of one request in push order (seq ascending).
    virtual Page<MutationRecord> list_mutations(std::string_view request_id, const MutationFilter& filter,
                                                const PageRequest& page) = 0;
    virtual std::optional<MutationRecord> get_mutation(std::string_view id) = 0;

    /// Stored rollups of `width_us` whose start is in [from_us, to_us), ascending by
    /// (start_us, instance); `instance` empty = every instance. Without `breakdowns` the
    /// per-model and per-client maps are left empty (much cheaper for long health strips).
    /// Rollup widths must be positive and starts multiples of the width, else write_batch
    /// refuses the batch (permanent StorageError).
    virtual std::vector<Rollup> read_rollups(Micros width_us, Micros from_us, Micros to_us, std::string_view instance,
                                             bool breakdowns = true) = 0;
    /// Delete rollups that ended before `before_us` (telemetry retention, independent of
    /// request retention). Returns how many were deleted. Also deletes (not counted in the
    /// result) the hourly conflict counts of hours that ended at or before `before_us`, and
    /// the failure groups, group clients, failure buckets, clients, client models and poison
    /// candidates last seen before `before_us`; prune() never touches any of those counts.
    virtual std::size_t prune_rollups(Micros before_us) = 0;

    /// Conflicted mutations (any outcome) with their request context, newest first by
    /// (started_at, id); cursor as for requests.
    virtual Page<ConflictRecord> list_conflicts(const ConflictFilter& filter, const PageRequest& page) = 0;
    /// One conflict by mutation row id; nullopt when unknown or not conflicted.
    virtual std::optional<ConflictRecord> get_conflict(std::string_view id) = 0;
    /// Patterns from hourly counts maintained by write_batch (never a scan of mutations).
    virtual ConflictPatterns conflict_patterns(const ConflictPatternQuery& query) = 0;

    /// Failures (rejected mutations and failed requests) newest first by (started_at, id).
    virtual Page<FailureRecord> list_failures(const FailureFilter& filter, const PageRequest& page) = 0;
    /// Failure groups from the counts maintained by write_batch, ordered by query.sort,
    /// ties by fingerprint. query.now_us is the reference of the trend. Throws
    /// InvalidArgument("limit") outside 1..PageRequest::max_limit.
    virtual std::vector<FailureGroup> failure_groups(const FailureGroupQuery& query,
                                                     const FailureThresholds& thresholds) = 0;
    /// One group (with `hourly`), or nullopt when no failure has that fingerprint.
    virtual std::optional<FailureGroup> failure_group(std::string_view fingerprint, std::string_view instance,
                                                      Micros now_us, const FailureThresholds& thresholds) = 0;
    /// Clients newest last_seen first; cursor as for requests (by last_seen, client_id).
    virtual Page<ClientSummary> list_clients(const ClientFilter& filter, const PageRequest& page,
                                             const FailureThresholds& thresholds) = 0;
    virtual std::optional<ClientSummary> get_client(std::string_view client_id,
                                                    const FailureThresholds& thresholds) = 0;
    virtual std::vector<ClientModelCounts> client_models(std::string_view client_id) = 0;
    /// Mutation ids whose failing streak reached thresholds.poison_after_failures, newest
    /// last_seen first. Throws InvalidArgument("limit") outside 1..PageRequest::max_limit.
    virtual std::vector<PoisonMutation> poison_mutations(const PoisonQuery& query,
                                                         const FailureThresholds& thresholds) = 0;

    /// The replays of a request: requests whose replay_of is `original_id`, newest first by
    /// (started_at, id), with the ReplayAudit written in their batch; cursor as for requests.
    /// A replay deleted by retention takes its link along; an original that is deleted keeps
    /// its replays listed under its id.
    virtual Page<ReplayLink> list_replays(std::string_view original_id, const PageRequest& page) = 0;

    virtual std::uint64_t count_requests() = 0;
    virtual std::uint64_t count_mutations() = 0;

    /// Delete at most `max_requests_per_call` requests (and their mutations and failure rows) that fall
    /// outside the policy, oldest first, in one short transaction. Returns how many were
    /// deleted; call again while it returns `max_requests_per_call`. Also trims the poison
    /// candidates to policy.max_tracked_mutations, deleting at most max_poison_trim_per_call
    /// of them per call so the transaction stays short (not part of the count).
    virtual std::size_t prune(const RetentionPolicy& policy, Micros now_us, std::size_t max_requests_per_call) = 0;
};

/// In-process storage for tests and ephemeral use; everything is lost with the object.
std::shared_ptr<Storage> make_memory_storage();

/// Keyset cursors shared by all backends: opaque, URL-safe, validated on decode.
struct CursorKey {
    std::int64_t primary = 0;  ///< started_at_us for requests, seq for mutations
    std::string id;
};
std::string encode_cursor(const CursorKey& key);
/// Throws InvalidArgument("cursor", …) when the text was not produced by encode_cursor.
CursorKey decode_cursor(std::string_view cursor);
/// Throws InvalidArgument("limit", …) when outside 1..PageRequest::max_limit.
void validate_page(const PageRequest& page);

}  // namespace tether
