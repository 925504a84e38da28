#include "support/protocol.hpp"

#include <boost/json.hpp>

namespace tether::test {
namespace json = boost::json;

std::string test_ulid(std::uint64_t n, char tag) {
    static const char* digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::string s = "01JD3Z6Q8Y";
    s += tag == 'M' ? 'M' : (tag == 'E' ? 'E' : 'R');
    std::string tail(15, '0');
    for (int i = 14; i >= 0 && n; --i, n >>= 5) tail[static_cast<std::size_t>(i)] = digits[n & 31];
    return s + tail;
}

std::string push_request(const std::string& client_id, const std::vector<TestMutation>& mutations) {
    json::array arr;
    for (const auto& m : mutations) {
        arr.push_back(json::object{{"mutation_id", m.mutation_id},
                                   {"entity_id", m.entity_id},
                                   {"model", m.model},
                                   {"operation", m.operation},
                                   {"payload", json::parse(m.payload_json)},
                                   {"version", m.version},
                                   {"timestamp", m.timestamp}});
    }
    return json::serialize(json::object{{"client_id", client_id}, {"mutations", arr}});
}

std::string push_response(const std::vector<std::string>& applied, const std::vector<Rejection>& rejected,
                          const std::vector<Conflict>& conflicts) {
    json::array a, r, c;
    for (const auto& id : applied) a.emplace_back(id);
    for (const auto& x : rejected)
        r.push_back(json::object{{"mutation_id", x.mutation_id}, {"reason", x.reason}, {"data", json::parse(x.data_json)}});
    for (const auto& x : conflicts)
        c.push_back(json::object{{"mutation_id", x.mutation_id},
                                 {"reason", "conflict"},
                                 {"data",
                                  {{"server_state", json::parse(x.server_state_json)},
                                   {"server_updated_at", x.server_updated_at}}}});
    return json::serialize(json::object{{"applied", a}, {"rejected", r}, {"conflicts", c}});
}

std::string pull_request(const std::string& client_id, std::optional<std::int64_t> cursor, std::int64_t limit) {
    json::object o{{"client_id", client_id}, {"limit", limit}};
    if (cursor)
        o["last_sync_cursor"] = *cursor;
    else
        o["last_sync_cursor"] = nullptr;
    return json::serialize(o);
}

std::string pull_response(const std::vector<std::string>& models, std::int64_t new_cursor, bool has_more) {
    json::array snaps;
    std::uint64_t n = 0;
    for (const auto& m : models)
        snaps.push_back(json::object{{"entity_id", test_ulid(++n, 'E')},
                                     {"model", m},
                                     {"operation", "upsert"},
                                     {"payload", {{"title", "t" + std::to_string(n)}}}});
    return json::serialize(json::object{{"snapshots", snaps}, {"new_sync_cursor", new_cursor}, {"has_more", has_more}});
}

Exchange sample_push(const std::string& client_id, std::size_t n, std::uint64_t seed) {
    static const char* models[] = {"Task", "Project", "Note"};
    std::vector<TestMutation> ms;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < n; ++i) {
        TestMutation m;
        m.mutation_id = test_ulid(seed * 100000 + i, 'M');
        m.entity_id = test_ulid(seed * 100000 + i, 'E');
        m.model = models[i % 3];
        m.payload_json = R"({"title":"Item )" + std::to_string(i) + R"(","done":false,"priority":3})";
        ids.push_back(m.mutation_id);
        ms.push_back(std::move(m));
    }
    Exchange ex;
    ex.kind = ExchangeKind::push;
    ex.client_version = "1.4.2";
    ex.duration_us = 1200;
    ex.request_body = push_request(client_id, ms);
    ex.response_body = push_response(ids);
    return ex;
}

}  // namespace tether::test
