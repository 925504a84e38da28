#pragma once
// What a host hands to the Recorder: one push or pull exchange, exactly as it went over
// the wire, plus optional per-mutation traces only the host knows (state before/after,
// how a conflict was resolved). The Recorder parses, redacts and diffs it later, on its
// own thread; the host only fills strings and moves the value in.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/clock.hpp"

namespace tether {

enum class ExchangeKind : std::uint8_t { push, pull };
const char* to_string(ExchangeKind k) noexcept;
std::optional<ExchangeKind> parse_exchange_kind(std::string_view s) noexcept;

/// How a resolver settled a conflict.
enum class Resolution : std::uint8_t { server_wins, client_wins, merged, rejected };
const char* to_string(Resolution r) noexcept;
std::optional<Resolution> parse_resolution(std::string_view s) noexcept;

/// A conflict as the host's resolver saw it. JSON members hold JSON text ("" = unknown).
struct ConflictTrace {
    std::string resolver;           ///< e.g. "last_write_wins", "note_field_merge"
    Resolution resolution = Resolution::server_wins;
    std::string server_state_json;  ///< the record on the server when the conflict was detected
    std::string reason;             ///< free text, e.g. "client timestamp older than updated_at"
    /// The server record's updated_at when the conflict was detected, as text (ISO-8601
    /// preferred); "" = not reported. Shown with the conflict when the response does not say
    /// it (a merge answers `applied`, without conflict data).
    std::string server_updated_at{};
};

/// What the host knows about one mutation beyond the response body.
/// JSON members hold JSON text; "" means "not reported", "null" means "no record".
struct MutationTrace {
    std::string mutation_id;        ///< matches the pushed mutation_id
    std::string state_before_json;
    std::string state_after_json;
    std::optional<ConflictTrace> conflict;
};

struct Header {
    std::string name;
    std::string value;
};

/// A mutation id a replay replaced: `from` as captured, `to` as sent in the replay.
struct MutationIdChange {
    std::string from;
    std::string to;

    friend bool operator==(const MutationIdChange& a, const MutationIdChange& b) {
        return a.from == b.from && a.to == b.to;
    }
};

/// A captured mutation a replay left out, and why.
struct SkippedMutation {
    std::uint32_t seq = 0;    ///< position in the captured push
    std::string mutation_id;  ///< as captured
    std::string reason;       ///< e.g. "payload values were redacted at capture (/payload/password)"

    friend bool operator==(const SkippedMutation& a, const SkippedMutation& b) {
        return a.seq == b.seq && a.mutation_id == b.mutation_id && a.reason == b.reason;
    }
};

/// Who replayed a captured push, when, and how its mutations were renamed. The ReplayEngine
/// puts it on the replay's Exchange so that storage writes it in the same batch as the
/// replay request (and retention deletes it with that request).
struct ReplayAudit {
    std::string by;    ///< identity of the caller (the host's auth middleware); never a credential
    Micros at_us = 0;  ///< when the replay was started
    std::vector<MutationIdChange> mutation_id_map;  ///< push order, one entry per replayed mutation
    std::vector<SkippedMutation> skipped;

    friend bool operator==(const ReplayAudit& a, const ReplayAudit& b) {
        return a.by == b.by && a.at_us == b.at_us && a.mutation_id_map == b.mutation_id_map && a.skipped == b.skipped;
    }
};

/// One captured push or pull. Everything is optional except `kind`; missing details are
/// taken from the bodies (client id) or filled by the Recorder (id, start time, instance).
struct Exchange {
    ExchangeKind kind = ExchangeKind::push;
    std::string id;              ///< preset request id (ULID); empty = assigned by the recorder
    std::string client_id;       ///< empty = taken from the request body
    std::string client_version;  ///< X-Tether-Client-Version
    std::string instance;        ///< empty = Config::instance
    Micros started_at_us = 0;    ///< 0 = time of record()
    Micros duration_us = 0;
    int http_status = 200;
    std::string request_body;
    std::string response_body;
    std::vector<Header> headers;        ///< selected request/response headers; secrets are redacted
    std::vector<MutationTrace> traces;  ///< per-mutation host traces (push only)
    std::string replay_of;              ///< id of the captured request this one replays
    std::optional<ReplayAudit> replay_audit;  ///< set by the ReplayEngine on the replays it records

    // Set by the Recorder when a body exceeded RecorderConfig::max_body_bytes.
    bool request_truncated = false;
    bool response_truncated = false;

    /// Memory this exchange holds while queued (string capacities, used for the byte cap).
    std::size_t byte_size() const noexcept;
};

}  // namespace tether
