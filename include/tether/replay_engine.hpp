#pragma once
// ReplayEngine: what would happen if a captured push were sent again (preview, a dry run
// against the host's current database), and sending it again for real (live replay: a clone
// with fresh mutation ids, run through the host's sync engine, recorded as its own request
// and linked to the original). docs/replay.md has the rules, the gate and the JSON shapes.
//
// The host provides two services: a StateReader (its current records, for previews) and a
// ReplayTarget (its real push handling, for live replays). Both must be callable from any
// thread: the dashboard calls the engine from its request threads.
//
// Errors are ReplayError subclasses (errors.hpp lists each with its HTTP status); a bad
// limit, cursor or request body is an InvalidArgument (400).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/clock.hpp"
#include "tether/config.hpp"
#include "tether/differ.hpp"
#include "tether/errors.hpp"
#include "tether/exchange.hpp"
#include "tether/records.hpp"
#include "tether/storage.hpp"

namespace tether {

class Recorder;
class IdGenerator;

/// The current record of one entity in the host's database.
struct EntityState {
    std::string json;  ///< the record as JSON text (what a pull would send as payload)
    /// When the record was last written, µs since the epoch, UTC: the value the server
    /// compares a mutation's client timestamp against (timestamp_ms * 1000 < updated_at_us is
    /// a conflict). The example server stores exactly this (`records.updated_at`, µs: the
    /// client timestamp of the write, clamped to the server clock); a server that keeps
    /// milliseconds multiplies by 1000, one that keeps ISO-8601 text converts it.
    Micros updated_at_us = 0;
};

/// Host service: read access to the sync server's current data. Read-only, thread-safe.
class StateReader {
public:
    virtual ~StateReader() = default;
    /// The current record of (model, entity_id); nullopt when there is none (never created, or deleted).
    virtual std::optional<EntityState> current(std::string_view model, std::string_view entity_id) = 0;
    /// True when the server has already applied this mutation id (its duplicate check fires).
    virtual bool was_applied(std::string_view mutation_id) = 0;
};

/// What a ReplayTarget is asked to process.
struct ReplayPush {
    std::string body;            ///< the cloned push body (JSON): fresh mutation ids, skipped mutations removed
    std::string client_id;       ///< of the captured push
    std::string client_version;  ///< of the captured push ("" when unknown)
    std::string original_request_id;
    std::string replay_request_id;  ///< the id the replay is recorded under
};

/// What the host's push handling answered: exactly what its push handler would record.
struct ReplayResponse {
    int http_status = 200;
    std::string body;                   ///< response JSON
    std::vector<MutationTrace> traces;  ///< optional, as for Exchange::traces
};

/// Host service: runs a push body through the real sync engine (same validation, conflict
/// resolution and writes as a client push). Thread-safe. It must not record the exchange
/// itself (no RequestScope): the engine records the replay, linked and audited. An exception
/// it throws is recorded as the replay's answer (HTTP 500, {"error":"replay_target_failed",…}).
class ReplayTarget {
public:
    virtual ~ReplayTarget() = default;
    virtual ReplayResponse push(const ReplayPush& push) = 0;
};

/// The server's likely decision for one mutation, by the protocol's rules in this order:
/// mutation_id already applied → duplicate; update/delete of a missing entity → not_found;
/// client timestamp older than the record's updated_at → conflict (the resolver decides);
/// otherwise apply.
enum class PredictedOutcome : std::uint8_t { apply, conflict, not_found, duplicate };
const char* to_string(PredictedOutcome o) noexcept;

/// One captured mutation in a preview.
struct PreviewItem {
    std::string mutation_row_id;  ///< MutationRecord::id (GET /api/mutations/{id})
    std::uint32_t seq = 0;
    std::string mutation_id;
    std::string entity_id;
    std::string model;
    std::string operation;
    std::optional<std::int64_t> version;
    std::optional<std::int64_t> client_timestamp_ms;
    PredictedOutcome predicted = PredictedOutcome::apply;
    /// The outcome under the fresh mutation_id a live replay sends: `predicted`, except that
    /// a duplicate is evaluated again by the remaining rules.
    PredictedOutcome replay_predicted = PredictedOutcome::apply;
    std::string reason;                  ///< one or two sentences: which rule, with the values compared
    std::optional<EntityState> current;  ///< nullopt: no current record; its JSON redacted like captured documents
    /// Current state → captured payload over the fields the payload sends (a delete: every
    /// field the delete would remove).
    std::vector<FieldChange> diff;
    bool replayable = true;
    std::string not_replayable_reason;  ///< "" when replayable
    bool redacted = false;              ///< a value of this mutation was redacted at capture
    std::string payload_json;           ///< as stored (redacted); "" when absent
};

struct PredictedCounts {
    std::uint64_t apply = 0;
    std::uint64_t conflict = 0;
    std::uint64_t not_found = 0;
    std::uint64_t duplicate = 0;
};

/// One page of a preview, with totals over the whole push and the one-time token a live
/// replay needs. Pages of one preview share its token and totals (the cursor carries them).
struct ReplayPreview {
    std::string request_id;
    std::vector<PreviewItem> items;  ///< push order
    std::string next_cursor;         ///< empty on the last page
    std::string token;
    Micros token_expires_at_us = 0;
    bool live_enabled = false;         ///< replay.live_enabled and a ReplayTarget is configured
    std::uint64_t total = 0;           ///< mutations of the push
    std::uint64_t replayable = 0;      ///< of them, replayable (0 when the push as a whole is not)
    PredictedCounts predicted_counts;  ///< over `total`, by `predicted`
    /// Why the push as a whole cannot be replayed ("" when it can): not valid JSON, truncated,
    /// envelope values redacted, mutations not stored …
    std::string not_replayable_reason;
};

/// A live replay request, as the dashboard's POST sends it.
struct ReplayOptions {
    bool confirm = false;        ///< must be true
    std::string token;           ///< from the preview
    bool skip_redacted = false;  ///< leave out (and list) the mutations that cannot be replayed faithfully
    std::string by;              ///< identity of the caller (auth middleware), stored in the audit
};

/// Reads {"confirm": true, "token": "…", "skip_redacted": false} (unknown members are ignored).
/// Throws InvalidArgument naming the member for invalid JSON or a wrong type ("confirm" must
/// be a boolean, "token" a string). Leaves `by` empty: the caller sets it.
ReplayOptions parse_replay_options(std::string_view json_body);

/// What a live replay did.
struct ReplayResult {
    std::string replay_request_id;
    std::string replay_of;
    std::vector<MutationIdChange> mutation_id_map;  ///< captured → replayed, push order
    std::vector<SkippedMutation> skipped;
    std::string by;
    Micros at_us = 0;
    int http_status = 0;        ///< the ReplayTarget's answer
    std::string response_body;  ///< the ReplayTarget's answer
    /// The replay request as stored: false when the recorder dropped it or did not store it
    /// within replay.record_timeout (the replay itself happened either way).
    bool recorded = false;
    std::optional<RequestOutcome> outcome;  ///< of the stored replay request; nullopt when not recorded
};

class ReplayEngine {
public:
    /// Every reference must outlive the engine. `state` may be null (previews then throw
    /// ReplayUnavailable), `target` too (live replays then throw ReplayUnavailable).
    /// `redactor` masks the host's current records in previews like captured documents
    /// (null: a default KeyRedactor); the Observer passes its own.
    ReplayEngine(Storage& storage, Recorder& recorder, const Clock& clock, IdGenerator& ids, ReplayConfig config,
                 std::shared_ptr<StateReader> state, std::shared_ptr<ReplayTarget> target = nullptr,
                 std::shared_ptr<const Redactor> redactor = nullptr);
    ~ReplayEngine();
    ReplayEngine(const ReplayEngine&) = delete;
    ReplayEngine& operator=(const ReplayEngine&) = delete;

    /// A dry run of captured push `request_id`, one page (limit 1..500, cursor from the
    /// previous page). Read-only. The first page (no cursor) issues a new token and computes
    /// the totals in one pass over the push; later pages reuse both while the token is
    /// valid and unused, otherwise they start a new preview (new token, fresh totals).
    /// Throws ReplayNotFound, ReplayNotApplicable (not a push), ReplayUnavailable (no
    /// StateReader), InvalidArgument (limit, cursor).
    ReplayPreview preview(std::string_view request_id, const PageRequest& page = {});

    /// Live replay of captured push `request_id`. Checks, in this order: the config gate,
    /// a ReplayTarget, confirm, the request, the token (valid for this request, unexpired,
    /// unused), the mutations (every one replayable, or skip_redacted); then consumes the
    /// token atomically (of concurrent calls with one token exactly one proceeds), runs the
    /// clone through the ReplayTarget, records it (preset id, replay_of, audit) and waits up
    /// to replay.record_timeout for it to be stored. The original rows are never written.
    ReplayResult replay(std::string_view request_id, const ReplayOptions& options);

    /// The replays of a request, newest first (Storage::list_replays).
    Page<ReplayLink> replays(std::string_view request_id, const PageRequest& page = {});

    /// replay.live_enabled and a ReplayTarget is configured.
    bool live_enabled() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// GET {prefix}/api/requests/{id}/replay/preview: {request_id, items: [{mutation_row_id, seq,
/// mutation_id, entity_id, model, operation, version, timestamp, predicted, replay_predicted,
/// reason, current_state, updated_at, updated_at_us, diff, replayable, not_replayable_reason,
/// redacted, payload}], next_cursor, token, token_expires_at, token_expires_at_us,
/// live_enabled, total, replayable, predicted_counts {apply, conflict, not_found, duplicate},
/// not_replayable_reason}.
std::string to_json(const ReplayPreview& preview);
/// POST {prefix}/api/requests/{id}/replay (201): {replay_request_id, replay_of,
/// mutation_id_map {captured: replayed}, skipped [{seq, mutation_id, reason}], by, at, at_us,
/// http_status, outcome, recorded}.
std::string to_json(const ReplayResult& result);
/// {items: [replay link], next_cursor}; see replay_links_json for one item.
std::string to_json(const Page<ReplayLink>& page);
/// A JSON array for the `replays` member of a request's detail: [{id, replay_of, started_at,
/// started_at_us, http_status, outcome, by, at, at_us, mutation_id_map, skipped}]
/// (by/at/at_us null and map/skipped empty for a replay recorded without the ReplayEngine).
std::string replay_links_json(const std::vector<ReplayLink>& links);
/// {"error": code(), "message": what()}: the body of a refused replay.
std::string to_json(const ReplayError& error);

}  // namespace tether
