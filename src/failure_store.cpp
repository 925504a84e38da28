#include "tether/failure_store.hpp"

#include "detail/json.hpp"

namespace tether {

Micros FailureStore::now() const {
    static const SystemClock system;
    return (clock_ ? clock_ : &system)->now_us();
}

Page<FailureRecord> FailureStore::list(const FailureFilter& filter, const PageRequest& page) const {
    return storage_.list_failures(filter, page);
}

std::vector<FailureGroup> FailureStore::groups(FailureGroupQuery query) const {
    query.now_us = now();
    return storage_.failure_groups(query, thresholds_);
}

std::optional<FailureGroup> FailureStore::group(std::string_view fingerprint, std::string_view instance) const {
    return storage_.failure_group(fingerprint, instance, now(), thresholds_);
}

Page<ClientSummary> FailureStore::clients(const ClientFilter& filter, const PageRequest& page) const {
    return storage_.list_clients(filter, page, thresholds_);
}

std::optional<ClientSummary> FailureStore::client(std::string_view client_id) const {
    return storage_.get_client(client_id, thresholds_);
}

std::vector<ClientModelCounts> FailureStore::client_models(std::string_view client_id) const {
    return storage_.client_models(client_id);
}

std::vector<PoisonMutation> FailureStore::poison(const PoisonQuery& query) const {
    return storage_.poison_mutations(query, thresholds_);
}

namespace {

namespace json = boost::json;
using detail::put_time;
using detail::or_null;
using detail::strings;

json::object failure_value(const FailureRecord& f) {
    const bool mutation = f.kind == FailureKind::mutation;
    json::value messages = nullptr;
    if (!f.messages_json.empty()) messages = detail::embed(f.messages_json);
    return {{"id", f.id},
            {"kind", to_string(f.kind)},
            {"request_id", f.request_id},
            {"mutation_row_id", mutation ? json::value(f.id) : json::value(nullptr)},
            {"mutation_id", or_null(f.mutation_id)},
            {"entity_id", or_null(f.entity_id)},
            {"model", or_null(f.model)},
            {"operation", or_null(f.operation)},
            {"client_id", f.client_id},
            {"client_version", or_null(f.client_version)},
            {"instance", f.instance},
            {"started_at", format_iso8601(f.started_at_us)},
            {"started_at_us", f.started_at_us},
            {"http_status", f.http_status},
            {"reason", f.reason},
            {"fields", strings(f.fields)},
            {"message", f.message},
            {"messages", std::move(messages)},
            {"fingerprint", f.fingerprint}};
}

json::object group_value(const FailureGroup& g) {
    json::array clients;
    for (const auto& c : g.top_clients) {
        json::object client{{"client_id", c.client_id},
                            {"failures", c.failures},
                            {"mutations", c.attempts},
                            {"ratio", c.ratio},
                            {"systematic", c.systematic}};
        put_time(client, "last_seen", c.last_seen_us);
        clients.push_back(std::move(client));
    }
    json::object o{{"fingerprint", g.fingerprint},
                   {"kind", to_string(g.kind)},
                   {"model", or_null(g.model)},
                   {"reason", g.reason},
                   {"fields", strings(g.fields)},
                   {"count", g.count},
                   {"clients", g.clients},
                   {"top_clients", std::move(clients)},
                   {"systematic", g.systematic},
                   {"systematic_clients", strings(g.systematic_clients)},
                   {"explanation", g.explanation},
                   {"trend", json::object{{"last_hour", g.last_hour}, {"previous_hour", g.previous_hour}}},
                   {"sample_mutation_ids", json::array()},
                   {"sample_request_ids", strings(g.sample_request_ids)}};
    put_time(o, "first_seen", g.first_seen_us);
    put_time(o, "last_seen", g.last_seen_us);
    // Request groups have no mutation rows: their samples are request ids.
    if (g.kind == FailureKind::mutation) o["sample_mutation_ids"] = strings(g.sample_ids);
    if (!g.hourly.empty()) {
        json::array hours;
        for (const auto& h : g.hourly) {
            json::object hour{{"count", h.count}};
            put_time(hour, "start", h.start_us);
            hours.push_back(std::move(hour));
        }
        o["buckets"] = std::move(hours);
    }
    return o;
}

json::object client_value(const ClientSummary& c) {
    json::object o{{"client_id", c.client_id},
            {"client_version", or_null(c.client_version)},
            {"instance", c.instance},
            {"requests", c.requests},
            {"pushes", c.pushes},
            {"pulls", c.pulls},
            {"mutations", c.mutations},
            {"failed_requests", c.failed_requests},
            {"conflicted_requests", c.conflicted_requests},
            {"failing_streak", c.failing_streak},
            {"stuck", c.stuck}};
    put_time(o, "first_seen", c.first_seen_us);
    put_time(o, "last_seen", c.last_seen_us);
    put_time(o, "last_success", c.last_success_us);
    put_time(o, "last_push_success", c.last_push_success_us);
    return o;
}

json::array poison_value(const std::vector<PoisonMutation>& list) {
    json::array out;
    for (const auto& p : list) {
        json::object o{{"mutation_id", p.mutation_id},
                                   {"client_id", p.client_id},
                                   {"model", p.model},
                                   {"entity_id", p.entity_id},
                                   {"attempts", p.attempts},
                                   {"failures", p.failures},
                                   {"failing_streak", p.failing_streak},
                                   {"last_reason", p.last_reason},
                                   {"last_request_id", p.last_request_id}};
        put_time(o, "first_seen", p.first_seen_us);
        put_time(o, "last_seen", p.last_seen_us);
        put_time(o, "client_last_success", p.client_last_success_us);
        out.push_back(std::move(o));
    }
    return out;
}

}  // namespace

std::string to_json(const FailureRecord& f) { return detail::to_text(failure_value(f)); }
std::string to_json(const Page<FailureRecord>& page) { return detail::page_json(page, failure_value); }
std::string to_json(const FailureGroup& g) { return detail::to_text(group_value(g)); }

std::string to_json(const std::vector<FailureGroup>& groups) {
    json::array items;
    for (const auto& g : groups) items.push_back(group_value(g));
    return detail::to_text(json::object{{"items", std::move(items)}});
}

std::string to_json(const ClientSummary& c) { return detail::to_text(client_value(c)); }
std::string to_json(const Page<ClientSummary>& page) { return detail::page_json(page, client_value); }

std::string to_json(const ClientSummary& client, const std::vector<ClientModelCounts>& models,
                    const std::vector<PoisonMutation>& poison) {
    auto o = client_value(client);
    json::array ms;
    for (const auto& m : models)
        ms.push_back(json::object{
            {"model", m.model}, {"mutations", m.mutations}, {"failures", m.failures}, {"conflicts", m.conflicts}});
    o["models"] = std::move(ms);
    o["poison"] = poison_value(poison);
    return detail::to_text(o);
}

std::string to_json(const std::vector<PoisonMutation>& poison) {
    return detail::to_text(json::object{{"items", poison_value(poison)}});
}

}  // namespace tether
