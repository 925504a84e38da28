#include "replay_rules.hpp"

#include <cctype>
#include <climits>
#include <string_view>
#include <utility>

#include "detail/diff.hpp"
#include "detail/json.hpp"

namespace tether::detail {
namespace {

constexpr std::string_view request_prefix = "request:";
constexpr std::string_view mutations_prefix = "/mutations/";

// "/mutations/<seq>[/rest]" -> (seq, rest); nullopt for a pointer outside the mutations.
std::optional<std::pair<std::uint32_t, std::string>> mutation_pointer(std::string_view pointer) {
    if (pointer.substr(0, mutations_prefix.size()) != mutations_prefix) return std::nullopt;
    std::size_t pos = mutations_prefix.size();
    std::uint64_t seq = 0;
    const std::size_t digits = pos;
    while (pos < pointer.size() && pointer[pos] >= '0' && pointer[pos] <= '9' && seq <= UINT32_MAX)
        seq = seq * 10 + static_cast<std::uint64_t>(pointer[pos++] - '0');
    if (pos == digits || seq > UINT32_MAX || (pos < pointer.size() && pointer[pos] != '/')) return std::nullopt;
    return std::make_pair(static_cast<std::uint32_t>(seq), std::string(pointer.substr(pos)));
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + (s.empty() ? std::string("the whole mutation") : s);
    return out;
}

bool is_known_operation(const std::string& op) { return op == "create" || op == "update" || op == "delete"; }

// The pipeline stores payloads as compact JSON, so an object starts with '{'.
bool is_object_text(const std::string& json) { return !json.empty() && json.front() == '{'; }

// Capitalizes the first letter: reason parts are assembled from lower-case clauses.
std::string sentence(std::string s) {
    if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return s;
}

Micros client_micros(std::int64_t ms) {
    if (ms > INT64_MAX / 1000) return INT64_MAX;
    if (ms < INT64_MIN / 1000) return INT64_MIN;
    return ms * 1000;
}

struct Rule {
    PredictedOutcome outcome;
    std::string reason;
};

// Every rule but the duplicate check: what the server decides for this mutation id once it
// is not known as applied (always the case for the fresh ids of a live replay).
Rule server_rules(const MutationRecord& m, const std::optional<EntityState>& current) {
    const std::string label =
        (m.model.empty() ? "(no model)" : m.model) + " " + (m.entity_id.empty() ? "(no entity_id)" : m.entity_id);
    if (!is_known_operation(m.operation))
        return {PredictedOutcome::apply, "operation \"" + m.operation +
                                             "\" is not create, update or delete: the server would most likely "
                                             "reject the mutation as malformed."};
    if (!current) {
        if (m.operation != "create")
            return {PredictedOutcome::not_found, label + " does not exist (never created, or deleted): the " +
                                                     m.operation + " has no record to change."};
        return {PredictedOutcome::apply, label + " does not exist yet: the create adds it."};
    }
    const std::string as_update =
        m.operation == "create" ? label + " already exists, so the create counts as an update; " : "";
    const std::string updated = "the record's updated_at " + format_iso8601(current->updated_at_us);
    if (!m.client_timestamp_ms)
        return {PredictedOutcome::apply,
                sentence(as_update + "the mutation has no client timestamp, so it cannot be older than " + updated +
                         ": it applies (unless the server requires a timestamp).")};
    const Micros client_us = client_micros(*m.client_timestamp_ms);
    if (client_us < current->updated_at_us)
        return {PredictedOutcome::conflict,
                sentence(as_update + "its client timestamp " + format_iso8601(client_us) + " is older than " + updated +
                         ": a conflict, which the model's resolver decides (the default keeps the server's record).")};
    return {PredictedOutcome::apply, sentence(as_update + "its client timestamp " + format_iso8601(client_us) +
                                              " is not older than " + updated + ": the " + m.operation + " applies.")};
}

json::value document_or_empty(const std::optional<json::value>& v) {
    return (!v || v->is_null()) ? json::value(json::object()) : *v;
}

}  // namespace

PushFacts push_facts(const RequestRecord& r) {
    PushFacts f;
    std::vector<std::string> envelope;
    for (const auto& path : r.redacted_paths) {
        if (path.compare(0, request_prefix.size(), request_prefix) != 0) continue;
        const std::string_view pointer = std::string_view(path).substr(request_prefix.size());
        if (auto in_mutation = mutation_pointer(pointer))
            f.redacted[in_mutation->first].push_back(std::move(in_mutation->second));
        else
            envelope.emplace_back(pointer);
    }
    if (r.request_truncated)
        f.not_replayable_reason = "the captured body was truncated to recorder.max_body_bytes, so it cannot be cloned";
    else if (r.request_body_dropped)
        f.not_replayable_reason =
            "the captured body was not stored (it was not valid JSON and redaction.invalid_body is drop)";
    else if (r.request_parse_error)
        f.not_replayable_reason = "the captured body is not valid JSON (line " +
                                  std::to_string(r.request_parse_error->line) + ", column " +
                                  std::to_string(r.request_parse_error->column) + ": " +
                                  r.request_parse_error->message + "), so it cannot be cloned";
    else if (!envelope.empty())
        f.not_replayable_reason = "values outside the mutations were redacted at capture (" + join(envelope) +
                                  "); a clone would send the redaction marker instead";
    return f;
}

std::string push_level_reason(const PushFacts& facts, const RequestRecord& request, std::uint64_t stored_rows) {
    if (!facts.not_replayable_reason.empty()) return facts.not_replayable_reason;
    if (stored_rows < request.mutation_count)
        return "only " + std::to_string(stored_rows) + " of the " + std::to_string(request.mutation_count) +
               " pushed mutations were stored (recorder.max_mutations_per_request), so the push cannot be cloned "
               "completely";
    return {};
}

Replayability replayability(const MutationRecord& m, const PushFacts& facts) {
    Replayability r;
    auto refuse = [&r](std::string why) {
        r.replayable = false;
        r.reason = std::move(why);
        return r;
    };
    const auto redacted = facts.redacted.find(m.seq);
    if (m.payload_redacted || redacted != facts.redacted.end()) {
        r.redacted = true;
        return refuse(redacted == facts.redacted.end()
                          ? "payload values were redacted at capture; the captured values cannot be restored"
                          : "values were redacted at capture (" + join(redacted->second) +
                                "); the captured values cannot be restored");
    }
    if (m.model.empty()) return refuse("the captured mutation has no model");
    if (m.entity_id.empty()) return refuse("the captured mutation has no entity_id");
    if (!is_known_operation(m.operation))
        return refuse("operation \"" + m.operation + "\" is not create, update or delete");
    if (m.operation != "delete" && !is_object_text(m.payload_json))
        return refuse("a " + m.operation + " needs the full record as payload, and the captured mutation " +
                      (m.payload_json.empty() ? "has none" : "has a payload that is not an object"));
    return r;
}

Prediction predict(const MutationRecord& m, StateReader& reader) {
    Prediction p;
    if (!m.model.empty() && !m.entity_id.empty()) p.current = reader.current(m.model, m.entity_id);
    Rule fresh = server_rules(m, p.current);
    p.replay_predicted = fresh.outcome;
    if (!m.mutation_id.empty() && reader.was_applied(m.mutation_id)) {
        p.predicted = PredictedOutcome::duplicate;
        p.reason = "mutation_id " + m.mutation_id +
                   " was already applied: sent as captured, the server's duplicate check answers it without applying "
                   "it again. A live replay sends a fresh mutation_id, and then: " +
                   fresh.reason;
    } else {
        p.predicted = fresh.outcome;
        p.reason = std::move(fresh.reason);
    }
    return p;
}

std::vector<FieldChange> preview_diff(const MutationRecord& m, const std::optional<EntityState>& current) {
    std::vector<FieldChange> out;
    ParseFailure ignored;
    std::optional<json::value> state;
    if (current) {
        state = try_parse(current->json, &ignored);
        if (!state) return out;  // the host's JSON is not JSON: nothing sensible to compare
    }
    if (m.operation == "delete") {
        if (state) diff_values(document_or_empty(state), json::object(), out);
        return out;
    }
    auto payload = try_parse(m.payload_json, &ignored);
    if (payload) diff_payload(document_or_empty(state), *payload, out);
    return out;
}

}  // namespace tether::detail
