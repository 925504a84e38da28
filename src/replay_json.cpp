// JSON documents of the ReplayEngine (docs/replay.md): what the dashboard's replay routes
// answer. Times are ISO-8601 UTC with *_us companions; absent values are null.
#include "detail/json.hpp"
#include "tether/replay_engine.hpp"

namespace tether {
namespace {

namespace json = boost::json;

json::value string_or_null(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }

template <class T>
json::value optional_value(const std::optional<T>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

json::object id_map_object(const std::vector<MutationIdChange>& map) {
    json::object out;
    for (const auto& c : map) out.emplace(c.from, c.to);  // a repeated captured id keeps its first replacement
    return out;
}

json::array skipped_array(const std::vector<SkippedMutation>& skipped) {
    json::array out;
    for (const auto& s : skipped)
        out.push_back(json::object{{"seq", s.seq}, {"mutation_id", s.mutation_id}, {"reason", s.reason}});
    return out;
}

json::object counts_object(const PredictedCounts& c) {
    return json::object{
        {"apply", c.apply}, {"conflict", c.conflict}, {"not_found", c.not_found}, {"duplicate", c.duplicate}};
}

json::object item_object(const PreviewItem& it) {
    const auto updated = it.current ? std::optional<Micros>(it.current->updated_at_us) : std::nullopt;
    return json::object{
        {"mutation_row_id", it.mutation_row_id},
        {"seq", it.seq},
        {"mutation_id", it.mutation_id},
        {"entity_id", it.entity_id},
        {"model", it.model},
        {"operation", it.operation},
        {"version", optional_value(it.version)},
        {"timestamp", optional_value(it.client_timestamp_ms)},
        {"predicted", to_string(it.predicted)},
        {"replay_predicted", to_string(it.replay_predicted)},
        {"reason", it.reason},
        // Unparseable host JSON stays a string rather than vanishing (detail::embed).
        {"current_state", it.current ? detail::embed(it.current->json) : json::value(nullptr)},
        {"updated_at", detail::iso_time(updated)},
        {"updated_at_us", optional_value(updated)},
        {"diff", detail::changes_value(it.diff)},
        {"replayable", it.replayable},
        {"not_replayable_reason", string_or_null(it.not_replayable_reason)},
        {"redacted", it.redacted},
        {"payload", detail::embed(it.payload_json)},
    };
}

json::object link_object(const ReplayLink& l) {
    const auto* a = l.audit ? &*l.audit : nullptr;
    return json::object{
        {"id", l.id},
        {"replay_of", l.replay_of},
        {"started_at", format_iso8601(l.started_at_us)},
        {"started_at_us", l.started_at_us},
        {"http_status", l.http_status},
        {"outcome", to_string(l.outcome)},
        {"by", a ? json::value(a->by) : json::value(nullptr)},
        {"at", a ? json::value(format_iso8601(a->at_us)) : json::value(nullptr)},
        {"at_us", a ? json::value(a->at_us) : json::value(nullptr)},
        {"mutation_id_map", a ? id_map_object(a->mutation_id_map) : json::object()},
        {"skipped", a ? skipped_array(a->skipped) : json::array()},
    };
}

json::array links_array(const std::vector<ReplayLink>& links) {
    json::array out;
    for (const auto& l : links) out.push_back(link_object(l));
    return out;
}

}  // namespace

std::string to_json(const ReplayPreview& p) {
    json::array items;
    for (const auto& it : p.items) items.push_back(item_object(it));
    return detail::to_text(json::object{
        {"request_id", p.request_id},
        {"items", std::move(items)},
        {"next_cursor", string_or_null(p.next_cursor)},
        {"token", p.token},
        {"token_expires_at", format_iso8601(p.token_expires_at_us)},
        {"token_expires_at_us", p.token_expires_at_us},
        {"live_enabled", p.live_enabled},
        {"total", p.total},
        {"replayable", p.replayable},
        {"predicted_counts", counts_object(p.predicted_counts)},
        {"not_replayable_reason", string_or_null(p.not_replayable_reason)},
    });
}

std::string to_json(const ReplayResult& r) {
    return detail::to_text(json::object{
        {"replay_request_id", r.replay_request_id},
        {"replay_of", r.replay_of},
        {"mutation_id_map", id_map_object(r.mutation_id_map)},
        {"skipped", skipped_array(r.skipped)},
        {"by", r.by},
        {"at", format_iso8601(r.at_us)},
        {"at_us", r.at_us},
        {"http_status", r.http_status},
        {"outcome", r.outcome ? json::value(to_string(*r.outcome)) : json::value(nullptr)},
        {"recorded", r.recorded},
    });
}

std::string to_json(const Page<ReplayLink>& page) {
    return detail::to_text(
        json::object{{"items", links_array(page.items)}, {"next_cursor", string_or_null(page.next_cursor)}});
}

std::string replay_links_json(const std::vector<ReplayLink>& links) { return detail::to_text(links_array(links)); }

std::string to_json(const ReplayError& e) {
    return detail::to_text(json::object{{"error", e.code()}, {"message", e.what()}});
}

}  // namespace tether
