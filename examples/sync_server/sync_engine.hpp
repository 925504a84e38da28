#pragma once
// The Tether push/pull logic of the example server, independent of HTTP: a request body
// goes in, a status, a response body and per-mutation traces come out. The HTTP layer
// wraps it, tests drive it directly, and a replay target can run captured pushes through
// exactly the same code.
//
// Push pipeline per mutation (README.md has the full rules):
//   envelope check (whole request: 400/422) → duplicate → model/operation/timestamp/payload
//   (per mutation: `error`) → validation (`validation_failed`) → existence (`not_found`)
//   → conflict detection → resolver → apply + change log.
//
// A record's updated_at is the client timestamp of the write it reflects, clamped to the
// server's clock so that a client whose clock runs ahead cannot lock a record. An
// update/delete (or a create of an existing entity) conflicts when its timestamp is older.
#include <boost/json.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app_db.hpp"
#include "models.hpp"
#include "tether/clock.hpp"
#include "tether/exchange.hpp"

namespace example {

struct EngineOptions {
    bool strict_duplicates = false;  ///< duplicates → rejected/duplicate instead of applied
    std::size_t max_mutations_per_push = 5'000;
    std::size_t default_pull_limit = 500;
    std::size_t max_pull_limit = 1'000;
};

/// What a handler sends back, plus what only the server knows (for the recorder).
struct SyncResult {
    int status = 200;
    std::string body;                           ///< JSON
    std::vector<tether::MutationTrace> traces;  ///< push only: one per mutation with a usable id
};

/// Everything a resolver may look at when a write is older than the stored record.
struct ConflictInput {
    const ModelSpec& model;
    std::string_view entity_id;
    std::string_view operation;  ///< "update" or "delete" ("create" of an existing entity counts as update)
    const boost::json::object& server_state;
    Micros server_updated_at_us;
    const boost::json::object* client_record;  ///< validated client fields; null for delete
    Micros client_timestamp_us;
    std::string_view client_id;
};

struct ConflictDecision {
    /// server_wins / rejected: nothing is written and the mutation is reported under
    /// `conflicts`. client_wins / merged: `record` is stored and the mutation is `applied`.
    tether::Resolution resolution = tether::Resolution::server_wins;
    boost::json::object record;
    std::string reason;  ///< why, for the recorder (free text)
};

class ConflictResolver {
public:
    virtual ~ConflictResolver() = default;
    virtual const char* name() const noexcept = 0;
    virtual ConflictDecision resolve(const ConflictInput& input) const = 0;
};

/// Default: the stored record wins, the stale write is reported as a conflict.
class LastWriteWins final : public ConflictResolver {
public:
    const char* name() const noexcept override { return "last_write_wins"; }
    ConflictDecision resolve(const ConflictInput& input) const override;
};

/// Notes: a stale update is merged instead of refused. The client's value wins for every
/// field it sent except `body`, where the server's text is kept (concatenating bodies would
/// grow them past the 10 000-character limit on repeated conflicts). A stale delete cannot
/// be merged and falls back to server-wins.
class NoteFieldMerge final : public ConflictResolver {
public:
    const char* name() const noexcept override { return "note_field_merge"; }
    ConflictDecision resolve(const ConflictInput& input) const override;
};

class SyncEngine {
public:
    /// `clock` must outlive the engine.
    SyncEngine(std::unique_ptr<AppDb> db, ModelRegistry models, EngineOptions options, const tether::Clock& clock);

    /// Resolver for one model; models without one use LastWriteWins.
    void set_resolver(const std::string& model, std::unique_ptr<ConflictResolver> resolver);
    /// LastWriteWins everywhere, NoteFieldMerge for Note.
    void use_default_resolvers();

    SyncResult push(std::string_view body);
    SyncResult pull(std::string_view body);

    /// The current record of an entity (data and updated_at), or nullopt: replay previews.
    std::optional<Record> current_record(std::string_view model, std::string_view entity_id);
    /// True when a push already applied this mutation id (the duplicate check).
    bool was_applied(std::string_view mutation_id);

    const EngineOptions& options() const noexcept { return options_; }

private:
    struct PushContext;
    void apply_mutation(PushContext& ctx, const boost::json::object& m, std::size_t index);
    const ConflictResolver& resolver_for(const std::string& model) const;

    std::mutex mutex_;  // one writer at a time: see app_db.hpp on cursor ordering
    std::unique_ptr<AppDb> db_;
    ModelRegistry models_;
    EngineOptions options_;
    const tether::Clock& clock_;
    LastWriteWins lww_;
    std::map<std::string, std::unique_ptr<ConflictResolver>, std::less<>> resolvers_;
};

/// {"error": code, "message": message} as text.
std::string error_body(std::string_view code, std::string_view message);

/// Parses JSON; on failure fills `error` with the position ("line 1, column 57 (byte 56): …").
std::optional<boost::json::value> parse_json(std::string_view text, std::string& error);

}  // namespace example
