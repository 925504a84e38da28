#pragma once
// Conflict value types: one conflict in context, list filters, and the patterns across
// conflicts. Queried through ConflictStore (conflict_store.hpp).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tether/clock.hpp"
#include "tether/differ.hpp"
#include "tether/exchange.hpp"
#include "tether/records.hpp"

namespace tether {

/// One conflicted mutation in context. JSON members hold redacted JSON text.
struct ConflictRecord {
    std::string id;  ///< the mutation row id (MutationRecord::id)
    std::string request_id;
    std::string mutation_id, entity_id, model, operation;
    std::string client_id, client_version, instance;
    Micros started_at_us = 0;
    std::string payload_json;       ///< what the client sent
    std::string server_state_json;  ///< the server's record when the conflict was detected
    std::string state_before_json;  ///< host trace, "" when not reported
    std::string resolver;           ///< "" when only the response reported the conflict
    std::optional<Resolution> resolution;
    std::string reason;             ///< rejection/conflict reason
    std::string server_updated_at;
    MutationOutcome outcome = MutationOutcome::conflict;  ///< final: applied when the client won or it merged
    /// Fields the payload sends whose value differs from the server state (server -> client).
    std::vector<FieldChange> fields;
    bool reported_by_host = false;
    bool reported_in_response = false;
};

/// Filters for conflict lists; empty/unset members do not filter.
struct ConflictFilter {
    std::string model, client_id, entity_id, resolver, instance;
    std::optional<Resolution> resolution;
    std::optional<Micros> from_us;  ///< started_at >= from
    std::optional<Micros> to_us;    ///< started_at <  to
};

/// Conflict patterns over a time range (hourly granularity, maintained at write time).
struct ConflictPatterns {
    Micros from_us = 0, to_us = 0;  ///< hour-aligned range actually covered
    std::uint64_t total = 0;
    struct ByModel {
        std::string model;
        std::uint64_t conflicts = 0;
    };
    struct ByClient {
        std::string client_id;
        std::uint64_t conflicts = 0;
    };
    struct ByModelClient {
        std::string model, client_id;
        std::uint64_t conflicts = 0;
    };
    struct ByBucket {
        Micros start_us = 0;  ///< hour start
        std::uint64_t conflicts = 0;
    };
    struct Entity {
        std::string model, entity_id;
        std::uint64_t conflicts = 0;
        Micros last_seen_us = 0;
    };
    struct Field {
        std::string model, field;  ///< field: JSON Pointer ("/title")
        std::uint64_t conflicts = 0;
    };
    std::vector<ByModel> by_model;               ///< conflicts desc, then name
    std::vector<ByClient> by_client;             ///< conflicts desc, then id
    std::vector<ByModelClient> by_model_client;  ///< conflicts desc, then model, then client
    std::vector<ByBucket> by_bucket;             ///< every hour of the range, oldest first
    std::vector<Entity> top_entities;            ///< conflicts desc, then last seen desc, then id
    std::vector<Field> top_fields;               ///< conflicts desc, then model, then field
};

struct ConflictPatternQuery {
    /// Widened to whole hours. to < from, or a range over 367 days, is an InvalidArgument("to").
    Micros from_us = 0, to_us = 0;
    std::string instance;           ///< "" = all
    std::size_t top_n = 10;         ///< length of every list but by_bucket (0: only total and by_bucket)
};

}  // namespace tether
