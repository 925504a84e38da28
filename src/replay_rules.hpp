#pragma once
// The rules a replay preview and a live replay share: whether a captured push (and each of
// its mutations) can be replayed faithfully, and what the server would most likely decide
// for a mutation given the host's current state. Pure functions over stored records and
// the StateReader, so that preview and replay can never disagree.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tether/records.hpp"
#include "tether/replay_engine.hpp"

namespace tether::detail {

/// What the request row says about replaying its push.
struct PushFacts {
    /// Why the push as a whole cannot be cloned faithfully; "" when it can.
    std::string not_replayable_reason;
    /// Mutation seq -> JSON Pointers inside that mutation whose value was redacted ("/payload/pin").
    std::map<std::uint32_t, std::vector<std::string>> redacted;
};
PushFacts push_facts(const RequestRecord& request);

/// The push-level reason once the stored rows are counted: facts.not_replayable_reason, or
/// a note that some pushed mutations were not stored (recorder.max_mutations_per_request).
std::string push_level_reason(const PushFacts& facts, const RequestRecord& request, std::uint64_t stored_rows);

struct Replayability {
    bool replayable = true;
    bool redacted = false;
    std::string reason;  ///< "" when replayable
};
/// Whether this mutation can be sent again as captured (the push-level reason aside).
Replayability replayability(const MutationRecord& m, const PushFacts& facts);

struct Prediction {
    PredictedOutcome predicted = PredictedOutcome::apply;
    PredictedOutcome replay_predicted = PredictedOutcome::apply;  ///< under a fresh mutation_id
    std::string reason;
    std::optional<EntityState> current;
};
/// The protocol's server rules, in order: duplicate, not_found, conflict, apply.
Prediction predict(const MutationRecord& m, StateReader& reader);

/// Current state -> captured payload over the fields the payload sends; for a delete, every
/// field the delete removes. Empty when either side is unusable.
std::vector<FieldChange> preview_diff(const MutationRecord& m, const std::optional<EntityState>& current);

}  // namespace tether::detail
