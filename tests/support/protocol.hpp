#pragma once
// Builders for realistic Tether push/pull bodies used across the test suites.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tether/exchange.hpp"

namespace tether::test {

struct TestMutation {
    std::string mutation_id;
    std::string entity_id;
    std::string model = "Task";
    std::string operation = "update";
    std::string payload_json = R"({"title":"Buy milk","done":false})";
    std::int64_t version = 1;
    std::int64_t timestamp = 1732500000123;
};

struct Rejection {
    std::string mutation_id;
    std::string reason = "validation_failed";
    std::string data_json = R"({"messages":{"title":["The title field is required."]}})";
};

struct Conflict {
    std::string mutation_id;
    std::string server_state_json = R"({"title":"Server title","done":true})";
    std::string server_updated_at = "2026-11-24T10:00:00.000000Z";
};

/// A ULID-shaped id, unique per (prefix, n).
std::string test_ulid(std::uint64_t n, char tag = 'M');

std::string push_request(const std::string& client_id, const std::vector<TestMutation>& mutations);
std::string push_response(const std::vector<std::string>& applied, const std::vector<Rejection>& rejected = {},
                          const std::vector<Conflict>& conflicts = {});
std::string pull_request(const std::string& client_id, std::optional<std::int64_t> cursor, std::int64_t limit = 500);
/// `models` has one entry per snapshot.
std::string pull_response(const std::vector<std::string>& models, std::int64_t new_cursor, bool has_more);

/// `n` mutations on Task/Project/Note with ids derived from `seed`; the response applies them all.
Exchange sample_push(const std::string& client_id, std::size_t n, std::uint64_t seed);

}  // namespace tether::test
