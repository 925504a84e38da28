// try_parse_pull_index must be exactly try_parse followed by erasing each snapshot's
// `payload`: same document, same count, same failures (message and position).
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "detail/json.hpp"
#include "support/pull_index_reference.hpp"
#include "tether/redactor.hpp"

using namespace tether;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

const KeyRedactor& redactor() {
    static const KeyRedactor r(KeyRedactor::default_keys(), "[REDACTED]", KeyMatch::contains);
    return r;
}

void same_as_reference(const std::string& text) {
    INFO("input: " << text.substr(0, 300));
    ParseFailure want_failure, got_failure;
    auto want = detail::try_parse(text, &want_failure);
    detail::PullIndex index;
    index.stripped = 12345;
    auto got = detail::try_parse_pull_index(text, &got_failure, {}, index, &redactor());
    REQUIRE(want.has_value() == got.has_value());
    if (!want) {
        CHECK(got_failure.message == want_failure.message);
        CHECK(got_failure.offset == want_failure.offset);
        CHECK(got_failure.line == want_failure.line);
        CHECK(got_failure.column == want_failure.column);
        return;
    }
    const std::size_t want_stripped = test::strip_snapshot_payloads(*want);
    CHECK(index.stripped == want_stripped);
    if (index.verbatim) {
        CHECK(test::verbatim_problem(*index.verbatim, *want, redactor()) == "");
        CHECK(*got == test::lean_snapshots(*want));
    } else {
        CHECK(*got == *want);
        CHECK(detail::to_text(*got) == detail::to_text(*want));
    }
    // Without a redactor there is no verbatim text, and the document is the same.
    detail::PullIndex plain;
    auto again = detail::try_parse_pull_index(text, nullptr, {}, plain);
    REQUIRE(again);
    CHECK(*again == *want);
    CHECK_FALSE(plain.verbatim);
}

// The stored text of a pull (nullopt: re-serialized from the redacted document instead).
std::optional<std::string> verbatim(const std::string& text) {
    same_as_reference(text);
    detail::PullIndex index;
    REQUIRE(detail::try_parse_pull_index(text, nullptr, {}, index, &redactor()));
    return index.verbatim;
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
        // models: the last duplicate wins, a non-string is none; other members of any shape
        R"({"snapshots":[{"model":"A","model":7,"payload":1},{"model":{"x":1},"payload":2},)"
        R"({"model":[1],"model":"B","payload":3},{"entity_id":"e","meta":{"a":[1,{"b":"c"}]},"model":"C","payload":4},)"
        R"({"model":"D","meta":[[],{}]},{}],"has_more":true})",
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

TEST_CASE("pull index parse: the text is stored as sent, without its payload members, when nothing needs redaction",
          "[pipeline][pull][redaction]") {
    // Payload members are cut wherever they sit; the rest keeps its bytes, spaces included.
    CHECK(verbatim(R"({"snapshots":[{"entity_id":"e1","payload":{"a":1},"model":"Task"},{"model":"Note","payload":[1]}],)"
                   R"("has_more":false})") ==
          R"({"snapshots":[{"entity_id":"e1","model":"Task"},{"model":"Note"}],"has_more":false})");
    CHECK(verbatim("  {\"snapshots\" : [ { \"payload\" : { } , \"model\" : \"A\" } ] }\n") ==
          "  {\"snapshots\" : [ { \"model\" : \"A\" } ] }\n");
    CHECK(verbatim("{\"snapshots\":[{\"model\":\"A\" ,\n \"payload\" : 1 \n}]}") == "{\"snapshots\":[{\"model\":\"A\"  \n}]}");
    // Brackets and quotes inside payloads do not confuse where they end.
    CHECK(verbatim(R"({"snapshots":[{"payload":{"x":"}"}},{},{"payload":"]"},{"payload":[[]]}],"new_sync_cursor":7})") ==
          R"({"snapshots":[{},{},{},{}],"new_sync_cursor":7})");
    CHECK(verbatim(R"({"snapshots":[{"payload":{"a":[1,{"b":2}]}}]})") == R"({"snapshots":[{}]})");
    CHECK(verbatim(R"({"snapshots":[{"payload":null}],"x":[{}]})") == R"({"snapshots":[{}],"x":[{}]})");
    // Duplicates: every payload member goes, in every "snapshots" member.
    CHECK(verbatim(R"({"snapshots":[{"payload":1}],"snapshots":[{"payload":2,"m":"x"}]})") ==
          R"({"snapshots":[{}],"snapshots":[{"m":"x"}]})");
    CHECK(verbatim(R"({"snapshots":[{"payload":1,"payload":2,"model":"A"}]})") == R"({"snapshots":[{"model":"A"}]})");
    CHECK(verbatim(R"({"snapshots":[{"model":"A","payload":1,"payload":2}]})") == R"({"snapshots":[{"model":"A"}]})");
    // "payload" outside the snapshot objects is data like any other.
    const std::string elsewhere = R"({"payload":1,"snapshots":[[{"payload":1}]],"meta":{"payload":2}})";
    CHECK(verbatim(elsewhere) == elsewhere);
    // A secret inside a payload goes with the payload.
    CHECK(verbatim(R"({"snapshots":[{"payload":{"password":"hunter2"},"model":"A"}]})") ==
          R"({"snapshots":[{"model":"A"}]})");

    // Anything the redactor would touch outside the payloads: re-serialized from the
    // redacted document instead (same_as_reference checks that document).
    CHECK_FALSE(verbatim(R"({"snapshots":[{"payload":1,"token":"abc"}]})"));
    CHECK_FALSE(verbatim(R"({"meta":{"password":"x"},"meta":1,"snapshots":[{"payload":1}]})"));  // hidden by a duplicate
    CHECK_FALSE(verbatim(R"({"snapshots":[{"model":"a=1&token=x","payload":1}]})"));
    CHECK_FALSE(verbatim(R"({"snapshots":[{"a=1&secret=x":1,"payload":1}]})"));
    // Escaped keys and strings have no place in the text to cut at: re-serialized too.
    CHECK_FALSE(verbatim(R"({"snapshots":[{"pay\u006coad":{"a":1},"model":"X"}]})"));
    CHECK_FALSE(verbatim(R"({"snapshots":[{"model":"T\u00e9","payload":1}]})"));
    // A snapshot array holding a literal right after a payload cannot be placed either.
    CHECK_FALSE(verbatim(R"({"snapshots":[{"payload":1},true]})"));
    CHECK(verbatim(R"({"snapshots":[{"payload":1},"s",{"payload":2}]})") == R"({"snapshots":[{},"s",{}]})");

    // Stored verbatim, the document holds of each snapshot only its model: what the recorder reads.
    detail::PullIndex index;
    auto doc = detail::try_parse_pull_index(
        R"({"snapshots":[{"entity_id":"e","model":"A","payload":1,"meta":{"k":[1]}},{"model":7},[1]],"has_more":true})",
        nullptr, {}, index, &redactor());
    REQUIRE(index.verbatim);
    CHECK(*doc == json::parse(R"({"snapshots":[{"model":"A"},{},[1]],"has_more":true})"));
    // Not stored verbatim: the whole document, for the redactor.
    doc = detail::try_parse_pull_index(R"({"snapshots":[{"entity_id":"e","model":"A","token":"t","payload":1}]})",
                                       nullptr, {}, index, &redactor());
    CHECK_FALSE(index.verbatim);
    CHECK(index.stripped == 1);
    CHECK(*doc == json::parse(R"({"snapshots":[{"entity_id":"e","model":"A","token":"t"}]})"));
}
