// try_parse_pull_index must be exactly try_parse followed by erasing each snapshot's
// `payload`: same document, same count, same failures (message and position).
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "detail/json.hpp"
#include "support/pull_index_reference.hpp"

using namespace tether;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

void same_as_reference(const std::string& text) {
    INFO("input: " << text.substr(0, 300));
    ParseFailure want_failure, got_failure;
    auto want = detail::try_parse(text, &want_failure);
    std::size_t got_stripped = 12345;
    auto got = detail::try_parse_pull_index(text, &got_failure, {}, got_stripped);
    REQUIRE(want.has_value() == got.has_value());
    if (!want) {
        CHECK(got_failure.message == want_failure.message);
        CHECK(got_failure.offset == want_failure.offset);
        CHECK(got_failure.line == want_failure.line);
        CHECK(got_failure.column == want_failure.column);
        return;
    }
    const std::size_t want_stripped = test::strip_snapshot_payloads(*want);
    CHECK(got_stripped == want_stripped);
    CHECK(*got == *want);
    CHECK(detail::to_text(*got) == detail::to_text(*want));
}

}  // namespace

TEST_CASE("pull index parse: payloads of the root's snapshots are left out, nothing else", "[pipeline][pull]") {
    const char* cases[] = {
        // payloads of every kind: object, array, string, number, literal, nested "payload" keys
        R"({"snapshots":[{"entity_id":"e1","model":"Task","payload":{"title":"a","payload":{"x":[1,{"payload":2}]}}},)"
        R"({"model":"Note","payload":[1,[2,[3]],{}]},{"payload":"text \"quoted\" \u00e9"},{"payload":-1.5e3},)"
        R"({"payload":true},{"payload":null},{"model":"Task"},7,"s",[{"payload":1}]],"new_sync_cursor":5,"has_more":true})",
        // "payload" outside snapshot objects stays: root, nested arrays, other members
        R"({"payload":1,"snapshots":[[{"payload":1}]],"other":[{"payload":2}],"meta":{"snapshots":[{"payload":3}]}})",
        // an escaped key that reads "payload" is the same key
        R"({"snapshots":[{"pay\u006coad":{"a":1},"model":"X"}]})",
        // duplicate keys: json::parse keeps the last; so must the count
        R"({"snapshots":[{"payload":1},{"payload":2}],"snapshots":[{"payload":3}]})",
        R"({"snapshots":[{"payload":1}],"snapshots":5})",
        R"({"snapshots":[{"payload":1,"payload":2,"model":"A"}]})",
        // not the expected shapes
        R"({"snapshots":{"payload":1}})",
        R"({"snapshots":"x"})",
        R"([{"snapshots":[{"payload":1}]}])",
        R"("just a string")",
        R"(42)",
        R"({})",
        R"({"snapshots":[]})",
        R"(  {"snapshots" : [ { "payload" : { } , "model" : "A" } ] }  )",
        // invalid: same message and position
        R"({"snapshots":[{"payload":{"a":1}]})",
        R"({"snapshots":[{"payload":)",
        R"({"snapshots":[{"payload":1}]} trailing)",
        R"({"snapshots":[{"payload":"\x"}]})",
        "{\"snapshots\":[{\"payload\":\"\xff\"}]}",
        "",
        "{\"a\":1,\n\"snapshots\":[{\"payload\":\n nul}]}",
    };
    for (const char* c : cases) same_as_reference(c);

    // Nesting limits apply inside a skipped payload as everywhere else.
    std::string deep = R"({"snapshots":[{"payload":)";
    for (int i = 0; i < 100; ++i) deep += '[';
    for (int i = 0; i < 100; ++i) deep += ']';
    deep += "}]}";
    same_as_reference(deep);

    // A large pull: long strings (delivered in parts) inside and outside payloads.
    std::string big = R"({"snapshots":[)";
    for (int i = 0; i < 300; ++i) {
        if (i) big += ',';
        big += R"({"entity_id":"e)" + std::to_string(i) + R"(","model":"M)" + std::to_string(i % 3) +
               R"(","payload":{"body":")" + std::string(static_cast<std::size_t>(i) * 7, 'x') + R"("}})";
    }
    big += R"(],"new_sync_cursor":1})";
    same_as_reference(big);
}

TEST_CASE("pull index parse: agrees with json::parse on every JSONTestSuite parsing file", "[pipeline][pull]") {
    const fs::path suite = fs::path(TETHER_SHARED_DIR) / "testdata/json-test-suite/test_parsing";
    if (!fs::is_directory(suite)) {
        WARN("skipped: " << suite.string() << " is absent (JSONTestSuite, ../shared/testdata)");
        return;
    }
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(suite)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        INFO(entry.path().filename().string());
        same_as_reference(text.str());
        // The same document as a pull's snapshot payload.
        same_as_reference(R"({"snapshots":[{"model":"M","payload":)" + text.str() + "}]}");
        ++files;
    }
    CHECK(files > 300);
}
