#pragma once
// Failure value types: one failure in context, the groups failures fall into, the clients
// that keep failing and the mutations clients keep re-pushing. Queried through FailureStore
// (failure_store.hpp); docs/failures.md explains every rule.
//
// A failure is either
//  - a rejected mutation (outcome `rejected`, whatever the reason: validation_failed,
//    not_found, duplicate, error, or anything else kept verbatim), or
//  - a request-level failure: a request whose outcome is `error` (HTTP >= 400, a body that
//    is not JSON, or a protocol error such as a missing client_id).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/clock.hpp"

namespace tether {

enum class FailureKind : std::uint8_t { mutation, request };
const char* to_string(FailureKind k) noexcept;
std::optional<FailureKind> parse_failure_kind(std::string_view s) noexcept;

/// One failure with its request context. Texts are already redacted.
struct FailureRecord {
    std::string id;  ///< the mutation row id (kind mutation) or the request id (kind request)
    FailureKind kind = FailureKind::mutation;
    std::string request_id;
    std::string mutation_id, entity_id, model, operation;  ///< "" for request failures
    std::string client_id, client_version, instance;
    Micros started_at_us = 0;
    int http_status = 0;
    /// Mutations: the rejection reason as sent ("unknown" when none was given). Requests:
    /// invalid_request_body | protocol_error | http_<status> | invalid_response_body.
    std::string reason;
    /// Sorted, distinct: the fields the validation messages name, or for protocol errors
    /// the offending JSON Pointer paths with array indexes replaced by "*".
    std::vector<std::string> fields;
    std::string message;        ///< one line a person can read ("title: The title field is required.")
    std::string messages_json;  ///< the validation messages object, or the rejection data; "" when none
    std::string fingerprint;    ///< the group it belongs to
};

/// Filters for failure lists; empty/unset members do not filter.
struct FailureFilter {
    std::string fingerprint, model, client_id, reason, instance;
    std::optional<FailureKind> kind;
    std::optional<Micros> from_us;  ///< started_at >= from
    std::optional<Micros> to_us;    ///< started_at <  to
};

/// When a group is systematic, a client stuck and a mutation poison (config `failures`).
struct FailureThresholds {
    /// A group is systematic when one client has at least this many failures in it …
    std::uint64_t systematic_min_failures = 5;
    /// … and they are at least this share (0..1] of that client's attempts: its mutations
    /// of the group's model (mutation groups) or its requests (request groups).
    double systematic_min_ratio = 0.8;
    /// A client is stuck when its last this-many pushes all failed or conflicted.
    std::uint32_t stuck_after_pushes = 3;
    /// A mutation is poison when it failed (rejected or conflicted) this many times in a
    /// row, counted across re-pushes of the same mutation_id.
    std::uint32_t poison_after_failures = 3;
};

/// One client's share of a failure group.
struct FailureGroupClient {
    std::string client_id;
    std::uint64_t failures = 0;  ///< in this group
    std::uint64_t attempts = 0;  ///< the client's mutations of the model (or requests, for request groups)
    double ratio = 0;            ///< failures / attempts, capped at 1
    bool systematic = false;
    Micros last_seen_us = 0;
};

/// Failures that share a fingerprint: kind + model + reason + the sorted failing fields.
/// The client is not part of it: it is the dimension along which a group turns systematic.
struct FailureGroup {
    std::string fingerprint;  ///< 16 hex digits, stable across versions and instances
    FailureKind kind = FailureKind::mutation;
    std::string model, reason;
    std::vector<std::string> fields;
    std::uint64_t count = 0;
    Micros first_seen_us = 0, last_seen_us = 0;
    std::uint64_t clients = 0;  ///< distinct clients affected
    std::vector<FailureGroupClient> top_clients;  ///< by failures desc; systematic ones first
    bool systematic = false;
    std::vector<std::string> systematic_clients;
    std::uint64_t last_hour = 0;      ///< failures in the 60 minutes up to the query's `now`
    std::uint64_t previous_hour = 0;  ///< … and in the 60 minutes before that
    std::vector<std::string> sample_ids;          ///< newest stored failures (FailureRecord::id)
    std::vector<std::string> sample_request_ids;  ///< their requests, same order
    std::string explanation;  ///< why these failures are one group, and why it is systematic
    struct Hour {
        Micros start_us = 0;
        std::uint64_t count = 0;
    };
    std::vector<Hour> hourly;  ///< only from FailureStore::group(): the 24 hours up to now
};

struct FailureGroupQuery {
    enum class Sort : std::uint8_t { count, last_seen };
    std::string model, reason, instance;
    std::string client_id;  ///< groups this client has failures in
    bool systematic_only = false;
    Sort sort = Sort::count;
    std::size_t limit = 20;  ///< 1..500
    Micros now_us = 0;       ///< reference for the trend (FailureStore fills in its clock's now)
};

/// "count" or "last_seen" (the API's and the CLI's `sort`); nullopt for anything else.
std::optional<FailureGroupQuery::Sort> parse_failure_group_sort(std::string_view s) noexcept;

/// What one client has been doing, maintained at write time.
struct ClientSummary {
    std::string client_id, client_version, instance;  ///< of its latest request
    Micros first_seen_us = 0, last_seen_us = 0;
    std::optional<Micros> last_success_us;       ///< latest request with outcome ok
    std::optional<Micros> last_push_success_us;  ///< latest push with outcome ok
    std::uint64_t requests = 0, pushes = 0, pulls = 0, mutations = 0;
    std::uint64_t failed_requests = 0, conflicted_requests = 0;
    std::uint32_t failing_streak = 0;  ///< pushes in a row, up to the latest, that failed or conflicted
    bool stuck = false;                ///< failing_streak >= FailureThresholds::stuck_after_pushes
};

struct ClientModelCounts {
    std::string model;
    std::uint64_t mutations = 0, failures = 0, conflicts = 0;
};

struct ClientFilter {
    bool stuck_only = false;
};

/// A mutation_id that keeps coming back and failing.
struct PoisonMutation {
    std::string mutation_id, client_id, model, entity_id;
    std::uint64_t attempts = 0;        ///< times this mutation_id was pushed
    std::uint64_t failures = 0;        ///< of which rejected or conflicted
    std::uint32_t failing_streak = 0;  ///< failures in a row, up to the latest attempt
    std::string last_reason;
    std::string last_request_id;
    Micros first_seen_us = 0, last_seen_us = 0;
    std::optional<Micros> client_last_success_us;  ///< the client's last successful sync
};

struct PoisonQuery {
    std::string client_id;  ///< "" = all clients
    std::size_t limit = 50;  ///< 1..500, newest last_seen first
};

}  // namespace tether
