#include "tether/record_json.hpp"

#include "detail/json.hpp"
#include "tether/errors.hpp"

namespace tether {

namespace {

namespace json = boost::json;
using detail::embed;
using detail::or_null;

json::value or_null(const std::optional<std::int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::value or_null(const std::optional<bool>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::value parse_failure_value(const std::optional<ParseFailure>& f) {
    if (!f) return nullptr;
    return json::object{{"message", f->message}, {"offset", f->offset}, {"line", f->line}, {"column", f->column}};
}

json::array headers_value(const std::vector<Header>& headers) {
    json::array out;
    out.reserve(headers.size());
    for (const auto& h : headers) out.push_back(json::object{{"name", h.name}, {"value", h.value}});
    return out;
}

json::array notes_value(const std::vector<ParseNote>& notes) {
    json::array out;
    out.reserve(notes.size());
    for (const auto& n : notes)
        out.push_back(json::object{
            {"where", n.where}, {"path", n.path}, {"message", n.message}, {"protocol_error", n.protocol_error}});
    return out;
}

// Serialize, then make sure stored bytes that are not UTF-8 cannot make the document invalid.
std::string finish(std::string text) {
    detail::replace_invalid_utf8(text);
    return text;
}

json::object request_summary_value(const RequestRecord& r) {
    return {{"id", r.id},
            {"kind", to_string(r.kind)},
            {"client_id", r.client_id},
            {"client_version", or_null(r.client_version)},
            {"instance", r.instance},
            {"started_at", format_iso8601(r.started_at_us)},
            {"started_at_us", r.started_at_us},
            {"duration_ms", static_cast<double>(r.duration_us) / 1000.0},
            {"duration_us", r.duration_us},
            {"http_status", r.http_status},
            {"outcome", to_string(r.outcome)},
            {"failed", r.failed()},
            {"mutations", r.mutation_count},
            {"applied", r.applied},
            {"rejected", r.rejected},
            {"conflicts", r.conflicts},
            {"snapshots", r.snapshots},
            {"models", detail::strings(r.models)},
            {"replay_of", or_null(r.replay_of)}};
}

json::object request_value(const RequestRecord& r) {
    json::object o = request_summary_value(r);
    o["last_sync_cursor"] = or_null(r.last_sync_cursor);
    o["new_sync_cursor"] = or_null(r.new_sync_cursor);
    o["pull_limit"] = or_null(r.pull_limit);
    o["has_more"] = or_null(r.has_more);
    o["request_body"] = r.request_body;
    o["response_body"] = r.response_body;
    o["request_truncated"] = r.request_truncated;
    o["response_truncated"] = r.response_truncated;
    o["request_body_dropped"] = r.request_body_dropped;
    o["response_body_dropped"] = r.response_body_dropped;
    o["request_body_scrubbed"] = r.request_body_scrubbed;
    o["response_body_scrubbed"] = r.response_body_scrubbed;
    o["request_parse_error"] = parse_failure_value(r.request_parse_error);
    o["response_parse_error"] = parse_failure_value(r.response_parse_error);
    o["headers"] = headers_value(r.headers);
    o["redacted_paths"] = detail::strings(r.redacted_paths);
    o["notes"] = notes_value(r.notes);
    o["recorded_at"] = format_iso8601(r.recorded_at_us);
    o["recorded_at_us"] = r.recorded_at_us;
    return o;
}

json::value conflict_value(const std::optional<ConflictInfo>& c) {
    if (!c) return nullptr;
    return json::object{
        {"reason", c->reason},
        {"resolver", or_null(c->resolver)},
        {"resolution", c->resolution ? json::value(to_string(*c->resolution)) : json::value(nullptr)},
        {"server_state", embed(c->server_state_json)},
        {"server_updated_at", or_null(c->server_updated_at)},
        {"reported_by_host", c->reported_by_host},
        {"reported_in_response", c->reported_in_response},
        {"fields", detail::changes_value(c->fields)},
    };
}

// RFC 6902 patch from the state before to the state after; null unless the host reported
// both and both are JSON (a state that is not JSON is still shown, as a string, in
// state_before/state_after).
json::value patch_value(const MutationRecord& m) {
    if (m.state_before_json.empty() || m.state_after_json.empty()) return nullptr;
    std::string patch;
    try {
        patch = json_patch(m.state_before_json, m.state_after_json);
    } catch (const JsonError&) {
        return nullptr;
    }
    // An operation's value sits two levels below the patch array.
    if (auto v = detail::try_parse(patch, nullptr, {}, detail::max_json_depth + 2)) return std::move(*v);
    return json::value(patch);  // cannot happen: json_patch writes JSON; never drop it anyway
}

json::object mutation_summary_value(const MutationRecord& m) {
    return {{"id", m.id},
            {"seq", m.seq},
            {"mutation_id", m.mutation_id},
            {"entity_id", m.entity_id},
            {"model", m.model},
            {"operation", m.operation},
            {"version", or_null(m.version)},
            {"outcome", to_string(m.outcome)},
            {"reason", or_null(m.reason)},
            {"conflicted", m.conflict.has_value()},
            {"payload_redacted", m.payload_redacted}};
}

json::object mutation_value(const MutationRecord& m) {
    json::object o = mutation_summary_value(m);
    o["request_id"] = m.request_id;
    o["client_id"] = m.client_id;
    o["instance"] = m.instance;
    o["started_at"] = format_iso8601(m.started_at_us);
    o["started_at_us"] = m.started_at_us;
    o["client_timestamp_ms"] = or_null(m.client_timestamp_ms);
    o["payload"] = embed(m.payload_json);
    o["rejection_data"] = embed(m.rejection_data_json);
    o["validation"] = embed(m.validation_json);
    o["conflict"] = conflict_value(m.conflict);
    o["state_before"] = embed(m.state_before_json);
    o["state_after"] = embed(m.state_after_json);
    o["payload_diff"] = detail::changes_value(m.payload_diff);
    o["diff"] = detail::changes_value(m.change_diff);
    o["patch"] = patch_value(m);
    return o;
}

}  // namespace

std::string to_json(const RequestRecord& request) { return finish(detail::to_text(request_value(request))); }

std::string request_summary_json(const RequestRecord& request) {
    return finish(detail::to_text(request_summary_value(request)));
}

std::string to_json(const Page<RequestRecord>& page) { return finish(detail::page_json(page, request_summary_value)); }

std::string to_json(const MutationRecord& mutation) { return finish(detail::to_text(mutation_value(mutation))); }

std::string mutation_summary_json(const MutationRecord& mutation) {
    return finish(detail::to_text(mutation_summary_value(mutation)));
}

std::string to_json(const Page<MutationRecord>& page) {
    return finish(detail::page_json(page, mutation_summary_value));
}

}  // namespace tether
