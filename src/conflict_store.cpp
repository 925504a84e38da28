#include "tether/conflict_store.hpp"

#include "detail/json.hpp"

namespace tether {

Page<ConflictRecord> ConflictStore::list(const ConflictFilter& filter, const PageRequest& page) const {
    return storage_.list_conflicts(filter, page);
}

std::optional<ConflictRecord> ConflictStore::get(std::string_view id) const { return storage_.get_conflict(id); }

ConflictPatterns ConflictStore::patterns(const ConflictPatternQuery& query) const {
    return storage_.conflict_patterns(query);
}

namespace {

namespace json = boost::json;
using detail::or_null;

json::object conflict_object(const ConflictRecord& c) {
    return json::object{
        {"id", c.id},
        {"request_id", c.request_id},
        {"mutation_id", c.mutation_id},
        {"entity_id", c.entity_id},
        {"model", c.model},
        {"operation", c.operation},
        {"client_id", c.client_id},
        {"client_version", or_null(c.client_version)},
        {"instance", c.instance},
        {"started_at", format_iso8601(c.started_at_us)},
        {"started_at_us", c.started_at_us},
        {"payload", detail::embed(c.payload_json)},
        {"server_state", detail::embed(c.server_state_json)},
        {"state_before", detail::embed(c.state_before_json)},
        {"resolver", or_null(c.resolver)},
        {"resolution", c.resolution ? json::value(to_string(*c.resolution)) : json::value(nullptr)},
        {"reason", c.reason},
        {"server_updated_at", or_null(c.server_updated_at)},
        {"outcome", to_string(c.outcome)},
        {"fields", detail::changes_value(c.fields)},
        {"reported_by_host", c.reported_by_host},
        {"reported_in_response", c.reported_in_response},
    };
}

}  // namespace

std::string to_json(const ConflictRecord& c) { return detail::to_text(conflict_object(c)); }

std::string to_json(const Page<ConflictRecord>& page) { return detail::page_json(page, conflict_object); }

std::string to_json(const ConflictPatterns& p) {
    json::array by_model, by_client, by_pair, by_bucket, entities, fields;
    for (const auto& x : p.by_model) by_model.push_back(json::object{{"model", x.model}, {"conflicts", x.conflicts}});
    for (const auto& x : p.by_client)
        by_client.push_back(json::object{{"client_id", x.client_id}, {"conflicts", x.conflicts}});
    for (const auto& x : p.by_model_client)
        by_pair.push_back(json::object{{"model", x.model}, {"client_id", x.client_id}, {"conflicts", x.conflicts}});
    for (const auto& x : p.by_bucket)
        by_bucket.push_back(
            json::object{{"start", format_iso8601(x.start_us)}, {"start_us", x.start_us}, {"conflicts", x.conflicts}});
    for (const auto& x : p.top_entities) {
        json::object e{{"model", x.model}, {"entity_id", x.entity_id}, {"conflicts", x.conflicts}};
        detail::put_time(e, "last_seen", x.last_seen_us);
        entities.push_back(std::move(e));
    }
    for (const auto& x : p.top_fields)
        fields.push_back(json::object{{"model", x.model}, {"field", x.field}, {"conflicts", x.conflicts}});
    return detail::to_text(json::object{{"from", format_iso8601(p.from_us)},
                                        {"to", format_iso8601(p.to_us)},
                                        {"total", p.total},
                                        {"by_model", std::move(by_model)},
                                        {"by_client", std::move(by_client)},
                                        {"by_model_client", std::move(by_pair)},
                                        {"by_bucket", std::move(by_bucket)},
                                        {"top_entities", std::move(entities)},
                                        {"top_fields", std::move(fields)}});
}

}  // namespace tether
