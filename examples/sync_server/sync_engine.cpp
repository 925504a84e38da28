#include "sync_engine.hpp"

#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <exception>

namespace example {
namespace json = boost::json;

namespace {

constexpr std::int64_t max_timestamp_ms = 253'402'300'799'999;  // 9999-12-31: keeps *1000 far from overflow

const char* kind_name(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "a value";
}

// "is missing" / "is a number" — the what-and-where half of an error message.
std::string describe(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    if (!v) return "is missing";
    if (v->is_string() && v->get_string().empty()) return "is an empty string";
    return std::string("is ") + kind_name(*v);
}

const json::string* non_empty_string(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    return v && v->is_string() && !v->get_string().empty() ? &v->get_string() : nullptr;
}

// Integer members may arrive as int64 or (large) uint64; doubles are not integers here.
std::optional<std::int64_t> as_integer(const json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get_uint64());
    return std::nullopt;
}

SyncResult request_error(int status, std::string_view code, const std::string& message) {
    return {status, error_body(code, message), {}};
}

json::value parse_stored(const std::string& text) {
    // Stored records were serialised by this program; a damaged row should not take the
    // whole request down, so it is reported as null instead.
    std::error_code ec;
    json::value v = json::parse(text, ec);
    return ec ? json::value(nullptr) : v;
}

}  // namespace

std::string error_body(std::string_view code, std::string_view message) {
    json::object o;
    o["error"] = code;
    o["message"] = message;
    return json::serialize(o);
}

std::optional<json::value> parse_json(std::string_view text, std::string& error) {
    json::stream_parser p;
    std::error_code ec;
    std::size_t consumed = p.write(text.data(), text.size(), ec);
    if (!ec) p.finish(ec);
    if (!ec) return p.release();
    if (consumed > text.size()) consumed = text.size();
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < consumed; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    error = text.empty() ? std::string("the body is empty")
                         : "line " + std::to_string(line) + ", column " + std::to_string(column) + " (byte " +
                               std::to_string(consumed) + "): " + ec.message();
    return std::nullopt;
}

// The body of a push or pull as a JSON object with a non-empty client_id, or the 400/422
// answer that refuses it; `shape` describes the expected object in the message.
std::optional<SyncResult> parse_request(std::string_view body, std::string_view shape, json::value& doc) {
    std::string parse_error;
    auto parsed = parse_json(body, parse_error);
    if (!parsed)
        return request_error(400, "invalid_json",
                             "request body is not valid JSON: " + parse_error + "; expected an object " +
                                 std::string(shape));
    if (!parsed->is_object())
        return request_error(422, "invalid_request",
                             std::string("request body is ") + kind_name(*parsed) + "; expected an object " +
                                 std::string(shape));
    if (!non_empty_string(parsed->get_object(), "client_id"))
        return request_error(422, "invalid_request",
                             "client_id " + describe(parsed->get_object(), "client_id") +
                                 "; expected a non-empty string");
    doc = std::move(*parsed);
    return std::nullopt;
}

ConflictDecision LastWriteWins::resolve(const ConflictInput& in) const {
    ConflictDecision d;
    d.resolution = tether::Resolution::server_wins;
    d.reason = "client timestamp " + tether::format_iso8601(in.client_timestamp_us) + " is older than updated_at " +
               tether::format_iso8601(in.server_updated_at_us) + "; the server's record is kept";
    return d;
}

ConflictDecision NoteFieldMerge::resolve(const ConflictInput& in) const {
    ConflictDecision d;
    if (!in.client_record) {
        d.resolution = tether::Resolution::server_wins;
        d.reason = "stale delete (client timestamp " + tether::format_iso8601(in.client_timestamp_us) +
                   " older than updated_at " + tether::format_iso8601(in.server_updated_at_us) +
                   ") cannot be merged; the server's note is kept";
        return d;
    }
    d.resolution = tether::Resolution::merged;
    d.record = in.server_state;
    std::string taken;
    for (const auto& field : *in.client_record) {
        if (field.key() == "body") continue;
        d.record[field.key()] = field.value();
        taken += (taken.empty() ? "" : ", ") + std::string(field.key());
    }
    d.reason =
        "client timestamp older than updated_at; merged: client fields [" + taken + "] applied, server body kept";
    return d;
}

SyncEngine::SyncEngine(std::unique_ptr<AppDb> db, ModelRegistry models, EngineOptions options,
                       const tether::Clock& clock)
    : db_(std::move(db)), models_(std::move(models)), options_(options), clock_(clock) {}

void SyncEngine::set_resolver(const std::string& model, std::unique_ptr<ConflictResolver> resolver) {
    std::lock_guard lock(mutex_);
    resolvers_[model] = std::move(resolver);
}

void SyncEngine::use_default_resolvers() { set_resolver("Note", std::make_unique<NoteFieldMerge>()); }

const ConflictResolver& SyncEngine::resolver_for(const std::string& model) const {
    auto it = resolvers_.find(model);
    if (it != resolvers_.end() && it->second) return *it->second;
    return lww_;
}

std::optional<Record> SyncEngine::current_record(std::string_view model, std::string_view entity_id) {
    std::lock_guard lock(mutex_);
    return db_->find(model, entity_id);
}

bool SyncEngine::was_applied(std::string_view mutation_id) {
    std::lock_guard lock(mutex_);
    return db_->was_applied(mutation_id);
}

struct SyncEngine::PushContext {
    std::string client_id;
    Micros now = 0;
    json::array applied, rejected, conflicts;
    std::vector<tether::MutationTrace> traces;

    void reject(std::string_view mutation_id, std::string_view reason, json::object data) {
        json::object e;
        e["mutation_id"] = mutation_id;
        e["reason"] = reason;
        e["data"] = std::move(data);
        rejected.emplace_back(std::move(e));
    }
    static json::object message(std::string text) {
        json::object o;
        o["message"] = std::move(text);
        return o;
    }
};

SyncResult SyncEngine::push(std::string_view body) {
    try {
        json::value doc;
        if (auto refused = parse_request(body, R"({"client_id": …, "mutations": […]})", doc)) return *refused;
        const json::object& req = doc.get_object();
        const json::string* client_id = non_empty_string(req, "client_id");
        const json::value* muts = req.if_contains("mutations");
        if (!muts || !muts->is_array())
            return request_error(422, "invalid_request",
                                 "mutations " + describe(req, "mutations") + "; expected an array of mutation objects");
        const json::array& list = muts->get_array();
        if (list.size() > options_.max_mutations_per_push)
            return request_error(422, "too_many_mutations",
                                 "mutations has " + std::to_string(list.size()) + " items; at most " +
                                     std::to_string(options_.max_mutations_per_push) + " are accepted per push");
        // Envelope of every mutation first: a mutation that cannot be identified or routed
        // cannot be answered per mutation, so the whole push is refused before anything is
        // applied (the client is broken; applying half of its push would be worse).
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string where = "mutations[" + std::to_string(i) + "]";
            if (!list[i].is_object())
                return request_error(422, "invalid_mutation",
                                     where + " is " + kind_name(list[i]) + "; expected a mutation object");
            const json::object& m = list[i].get_object();
            for (const char* key : {"mutation_id", "entity_id", "model", "operation"}) {
                if (non_empty_string(m, key)) continue;
                std::string expected =
                    std::string(key) == "model"       ? "a non-empty string naming a model (" + models_.names() + ")"
                    : std::string(key) == "operation" ? std::string("\"create\", \"update\" or \"delete\"")
                                                      : std::string("a non-empty string (ULID)");
                return request_error(422, "invalid_mutation",
                                     where + "." + key + " " + describe(m, key) + "; expected " + expected);
            }
        }

        std::lock_guard lock(mutex_);
        PushContext ctx;
        ctx.client_id = std::string(*client_id);
        ctx.now = clock_.now_us();
        SQLite::Transaction tx(db_->db());
        for (std::size_t i = 0; i < list.size(); ++i) apply_mutation(ctx, list[i].get_object(), i);
        tx.commit();

        json::object res;
        res["applied"] = std::move(ctx.applied);
        res["rejected"] = std::move(ctx.rejected);
        res["conflicts"] = std::move(ctx.conflicts);
        return {200, json::serialize(res), std::move(ctx.traces)};
    } catch (const std::exception& e) {
        // The transaction (if any) rolled back: nothing of this push was applied.
        return request_error(500, "internal_error", std::string("the push was not applied: ") + e.what());
    }
}

void SyncEngine::apply_mutation(PushContext& ctx, const json::object& m, std::size_t index) {
    const std::string where = "mutations[" + std::to_string(index) + "]";
    const std::string mid(m.at("mutation_id").get_string());
    const std::string model(m.at("model").get_string());
    const std::string entity_id(m.at("entity_id").get_string());
    const std::string op(m.at("operation").get_string());

    tether::MutationTrace trace;
    trace.mutation_id = mid;
    auto finish = [&](const std::string& before, const std::string& after) {
        trace.state_before_json = before;
        trace.state_after_json = after;
        ctx.traces.push_back(std::move(trace));
    };

    // 1. Duplicate: only mutations that were applied are remembered, so a stale write that
    //    conflicted is evaluated again when re-pushed.
    if (db_->was_applied(mid)) {
        auto current = db_->find(model, entity_id);
        const std::string state = current ? current->data_json : "null";
        if (options_.strict_duplicates)
            ctx.reject(mid, "duplicate",
                       PushContext::message("mutation " + mid +
                                            " was already applied; strict duplicate mode rejects re-pushes"));
        else
            ctx.applied.emplace_back(mid);
        return finish(state, state);
    }

    // 2. Per-mutation protocol errors (reason `error`).
    const ModelSpec* spec = models_.find(model);
    if (!spec) {
        ctx.reject(mid, "error",
                   PushContext::message(where + ".model \"" + model + "\" is not a known model; expected one of " +
                                        models_.names()));
        return finish("null", "null");
    }
    if (op != "create" && op != "update" && op != "delete") {
        ctx.reject(mid, "error",
                   PushContext::message(where + ".operation \"" + op +
                                        "\" is not supported; expected \"create\", \"update\" or \"delete\""));
        return finish("null", "null");
    }
    const json::value* ts = m.if_contains("timestamp");
    std::optional<std::int64_t> ts_ms = ts ? as_integer(*ts) : std::nullopt;
    if (!ts_ms || *ts_ms < 0 || *ts_ms > max_timestamp_ms) {
        ctx.reject(mid, "error",
                   PushContext::message(
                       where + ".timestamp " + (ts ? std::string("is ") + kind_name(*ts) : std::string("is missing")) +
                       "; expected the client clock as a non-negative integer of milliseconds since the epoch"));
        return finish("null", "null");
    }
    std::int64_t version = 0;
    if (const json::value* v = m.if_contains("version"); v && !v->is_null()) {
        auto vi = as_integer(*v);
        if (!vi) {
            ctx.reject(mid, "error",
                       PushContext::message(where + ".version is " + kind_name(*v) + "; expected an integer"));
            return finish("null", "null");
        }
        version = *vi;
    }

    // 3. Validation (create/update carry the full record; a delete's payload is ignored).
    Validation validation;
    if (op != "delete") {
        const json::value* payload = m.if_contains("payload");
        if (!payload || !payload->is_object()) {
            ctx.reject(
                mid, "error",
                PushContext::message(where + ".payload " +
                                     (payload ? std::string("is ") + kind_name(*payload) : std::string("is missing")) +
                                     "; expected an object with the " + model + " fields"));
            return finish("null", "null");
        }
        validation = validate(*spec, payload->get_object());
        if (!validation.ok()) {
            json::object data;
            data["messages"] = std::move(validation.messages);
            ctx.reject(mid, "validation_failed", std::move(data));
            auto current = db_->find(model, entity_id);
            const std::string state = current ? current->data_json : "null";
            return finish(state, state);
        }
    }

    // 4. Existence.
    const std::optional<Record> existing = db_->find(model, entity_id);
    const std::string before = existing ? existing->data_json : "null";
    if (!existing && op != "create") {
        ctx.reject(mid, "not_found", PushContext::message(model + " " + entity_id + " does not exist (" + op + ")"));
        return finish("null", "null");
    }

    // 5. Conflict detection and resolution.
    const Micros client_us = *ts_ms * 1000;
    const Micros write_time = std::min(client_us, ctx.now);  // a fast client clock cannot lock a record
    json::object to_store = std::move(validation.record);
    bool is_delete = op == "delete";
    if (existing && client_us < existing->updated_at_us) {
        json::value server_state = parse_stored(existing->data_json);
        json::object empty;
        const json::object& state_obj = server_state.is_object() ? server_state.get_object() : empty;
        const ConflictResolver& resolver = resolver_for(model);
        const std::string_view effective_op = is_delete ? "delete" : "update";
        const ConflictInput input{
            *spec,     entity_id,    effective_op, state_obj, existing->updated_at_us, is_delete ? nullptr : &to_store,
            client_us, ctx.client_id};
        ConflictDecision decision = resolver.resolve(input);
        trace.conflict = tether::ConflictTrace{resolver.name(), decision.resolution, existing->data_json,
                                               decision.reason, tether::format_iso8601(existing->updated_at_us)};
        if (decision.resolution == tether::Resolution::server_wins ||
            decision.resolution == tether::Resolution::rejected) {
            json::object data;
            data["server_state"] = std::move(server_state);
            data["server_updated_at"] = tether::format_iso8601(existing->updated_at_us);
            json::object e;
            e["mutation_id"] = mid;
            e["reason"] = "conflict";
            e["data"] = std::move(data);
            ctx.conflicts.emplace_back(std::move(e));
            return finish(before, before);
        }
        if (!is_delete) to_store = std::move(decision.record);
    }

    // 6. Apply and append to the change log.
    std::string after = "null";
    if (is_delete) {
        db_->erase(model, entity_id);
        db_->append_change(model, entity_id, true, "{}", ctx.now);
    } else {
        after = json::serialize(to_store);
        Record r;
        r.model = model;
        r.entity_id = entity_id;
        r.data_json = after;
        // Never moves backwards, so a merged stale write does not reopen older writes.
        r.updated_at_us = existing ? std::max(existing->updated_at_us, write_time) : write_time;
        r.version = version;
        db_->put(r);
        db_->append_change(model, entity_id, false, after, ctx.now);
    }
    db_->mark_applied(mid, ctx.client_id, ctx.now);
    ctx.applied.emplace_back(mid);
    finish(before, after);
}

SyncResult SyncEngine::pull(std::string_view body) {
    try {
        json::value doc;
        if (auto refused = parse_request(body, R"({"client_id": …, "last_sync_cursor": …, "limit": …})", doc))
            return *refused;
        const json::object& req = doc.get_object();

        Micros cursor = 0;
        bool has_cursor = false;
        if (const json::value* c = req.if_contains("last_sync_cursor"); c && !c->is_null()) {
            auto ci = as_integer(*c);
            if (!ci || *ci < 0)
                return request_error(
                    422, "invalid_request",
                    std::string("last_sync_cursor is ") + (ci ? "negative" : kind_name(*c)) +
                        "; expected null or the new_sync_cursor of a previous pull (integer microseconds)");
            cursor = *ci;
            has_cursor = true;
        }
        std::size_t limit = options_.default_pull_limit;
        if (const json::value* l = req.if_contains("limit"); l && !l->is_null()) {
            auto li = as_integer(*l);
            if (!li || *li < 1)
                return request_error(422, "invalid_request",
                                     std::string("limit is ") +
                                         (li ? std::to_string(*li) : std::string(kind_name(*l))) +
                                         "; expected an integer from 1 to " + std::to_string(options_.max_pull_limit));
            // Larger limits are capped rather than refused: the client pages on has_more anyway.
            limit = static_cast<std::size_t>(
                std::min<std::int64_t>(*li, static_cast<std::int64_t>(options_.max_pull_limit)));
        }

        std::vector<Change> changes;
        {
            std::lock_guard lock(mutex_);
            changes = db_->changes_after(cursor, limit + 1);
        }
        const bool has_more = changes.size() > limit;
        if (has_more) changes.resize(limit);

        json::array snapshots;
        snapshots.reserve(changes.size());
        for (auto& c : changes) {
            json::object s;
            s["entity_id"] = c.entity_id;
            s["model"] = c.model;
            s["operation"] = c.deleted ? "delete" : "upsert";
            s["payload"] = parse_stored(c.data_json);
            snapshots.emplace_back(std::move(s));
        }
        json::object res;
        res["snapshots"] = std::move(snapshots);
        res["new_sync_cursor"] = changes.empty() ? (has_cursor ? cursor : 0) : changes.back().cursor;
        res["has_more"] = has_more;
        return {200, json::serialize(res), {}};
    } catch (const std::exception& e) {
        return request_error(500, "internal_error", std::string("the pull failed: ") + e.what());
    }
}

}  // namespace example
