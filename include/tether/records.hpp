#pragma once
// What gets stored: one RequestRecord per captured exchange and one MutationRecord per
// pushed mutation, both already redacted. JSON-valued members hold JSON text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/clock.hpp"
#include "tether/differ.hpp"
#include "tether/exchange.hpp"

namespace tether {

/// How a request ended, from the observer's point of view.
///  - ok:       HTTP < 400, parsed, no rejected mutation and no conflict
///  - conflict: at least one conflict, nothing rejected, no request-level error
///  - rejected: at least one rejected mutation (HTTP < 400)
///  - error:    HTTP >= 400, unparseable request/response body, or a protocol error
/// A request "failed" when its outcome is rejected or error (DESIGN §5 failure rule).
enum class RequestOutcome : std::uint8_t { ok, conflict, rejected, error };
const char* to_string(RequestOutcome o) noexcept;
std::optional<RequestOutcome> parse_request_outcome(std::string_view s) noexcept;
inline bool is_failure(RequestOutcome o) noexcept {
    return o == RequestOutcome::rejected || o == RequestOutcome::error;
}

/// The server's decision for one mutation. `unknown`: the response did not mention it
/// (or could not be parsed).
enum class MutationOutcome : std::uint8_t { applied, rejected, conflict, unknown };
const char* to_string(MutationOutcome o) noexcept;
std::optional<MutationOutcome> parse_mutation_outcome(std::string_view s) noexcept;

/// Where a JSON body failed to parse.
struct ParseFailure {
    std::string message;      ///< parser's message, never contains body content
    std::size_t offset = 0;   ///< byte offset
    std::size_t line = 1;     ///< 1-based
    std::size_t column = 1;   ///< 1-based, in bytes
};

/// A tolerated protocol irregularity: a field that was missing or had the wrong type.
struct ParseNote {
    std::string where;    ///< "request" | "response"
    std::string path;     ///< JSON Pointer of the offending field ("/mutations/3/model")
    std::string message;  ///< what was found and what was expected
    bool protocol_error = false;  ///< makes the request outcome `error` (e.g. missing client_id)
};

/// Conflict details: from the response (`conflicts[].data`) and/or the host trace.
struct ConflictInfo {
    std::string reason;             ///< response reason or host reason
    std::string resolver;           ///< host-reported resolver name ("" when only seen in the response)
    std::optional<Resolution> resolution;
    std::string server_state_json;  ///< redacted
    std::string server_updated_at;  ///< as the response sent it, else as the host traced it
    bool reported_by_host = false;
    bool reported_in_response = false;
    /// Fields the client payload sends whose value differs from server_state
    /// (from = server, to = client); empty when either side is unknown.
    std::vector<FieldChange> fields;
};

struct MutationRecord {
    std::string id;           ///< row id (ULID)
    std::string request_id;
    std::uint32_t seq = 0;    ///< position in the push's mutations array
    std::string client_id;
    std::string instance;
    Micros started_at_us = 0; ///< of the request
    std::string mutation_id;
    std::string entity_id;
    std::string model;
    std::string operation;    ///< as sent ("create|update|delete", anything else kept verbatim)
    std::optional<std::int64_t> version;
    std::optional<std::int64_t> client_timestamp_ms;
    std::string payload_json;  ///< redacted; "" when absent
    bool payload_redacted = false;
    MutationOutcome outcome = MutationOutcome::unknown;
    std::string reason;           ///< rejection/conflict reason as sent ("validation_failed", …)
    std::string rejection_data_json;  ///< rejected[].data, redacted
    std::string validation_json;  ///< rejected[].data.messages (field -> [messages])
    std::optional<ConflictInfo> conflict;  ///< set when a conflict was detected, whatever the outcome
    std::string state_before_json;  ///< host trace, redacted ("" = not reported)
    std::string state_after_json;
    /// Fields where the client payload differs from the state before (top-level keys the
    /// payload does not send are ignored: servers add ids and timestamps).
    std::vector<FieldChange> payload_diff;
    /// What processing changed: state before -> state after (needs both traces).
    std::vector<FieldChange> change_diff;
};

struct RequestRecord {
    std::string id;  ///< ULID
    ExchangeKind kind = ExchangeKind::push;
    std::string client_id;
    std::string client_version;
    std::string instance;
    Micros started_at_us = 0;
    Micros duration_us = 0;
    int http_status = 0;
    RequestOutcome outcome = RequestOutcome::ok;

    std::uint32_t mutation_count = 0;
    std::uint32_t applied = 0;
    std::uint32_t rejected = 0;
    std::uint32_t conflicts = 0;
    std::uint32_t snapshots = 0;
    std::vector<std::string> models;  ///< distinct models pushed or pulled, sorted

    // Pull details.
    std::optional<std::int64_t> last_sync_cursor;
    std::optional<std::int64_t> new_sync_cursor;
    std::optional<std::int64_t> pull_limit;
    std::optional<bool> has_more;

    // Bodies, redacted. Empty in list results (see Storage::list_requests).
    std::string request_body;
    std::string response_body;
    bool request_truncated = false;
    bool response_truncated = false;
    bool request_body_dropped = false;   ///< invalid body not stored (redaction.invalid_body = drop)
    bool response_body_dropped = false;
    bool request_body_scrubbed = false;  ///< stored body is raw text after a textual scrub
    bool response_body_scrubbed = false;
    std::optional<ParseFailure> request_parse_error;
    std::optional<ParseFailure> response_parse_error;
    std::vector<Header> headers;          ///< redacted
    std::vector<std::string> redacted_paths;  ///< "request:/…", "response:/…", "header:name", "mutation:<seq>:before:/…"
    std::vector<ParseNote> notes;

    std::string replay_of;  ///< id of the original when this request is a replay
    /// Who replayed it, when, and the mutation id map: set on replays recorded by the
    /// ReplayEngine (get_request returns it; list items leave it empty).
    std::optional<ReplayAudit> replay_audit;
    Micros recorded_at_us = 0;

    bool failed() const noexcept { return is_failure(outcome); }
    /// A replay is an operator's action, not client traffic: it is kept in the history (linked
    /// both ways) but left out of client, failure, conflict-pattern and telemetry figures.
    bool is_replay() const noexcept { return !replay_of.empty(); }
};

/// One replay of a captured request, as Storage::list_replays reports it: the replay
/// request's summary plus the audit stored with it.
struct ReplayLink {
    std::string id;            ///< the replay request
    std::string replay_of;     ///< the request it replays
    Micros started_at_us = 0;  ///< of the replay request (the keyset order)
    int http_status = 0;
    RequestOutcome outcome = RequestOutcome::ok;
    /// Absent for a request the host recorded with Exchange::replay_of but without the ReplayEngine.
    std::optional<ReplayAudit> audit;
};

/// A parsed, redacted exchange: what one batch write stores.
struct CapturedRequest {
    RequestRecord request;
    std::vector<MutationRecord> mutations;
};

}  // namespace tether
