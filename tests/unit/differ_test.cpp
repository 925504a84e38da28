// Field diffs and RFC 6902 patches: fixed cases, bad input, and a property test that
// applying json_patch(a, b) to a yields b.
#include "tether/differ.hpp"

#include <catch2/catch.hpp>
#include <random>

#include "detail/diff.hpp"
#include "detail/json.hpp"
#include "support/json_patch.hpp"
#include "tether/errors.hpp"

using namespace tether;
using tether::test::apply_patch;
namespace json = boost::json;

namespace {

FieldChange fc(std::string path, ChangeOp op, std::string from, std::string to) {
    return {std::move(path), op, std::move(from), std::move(to)};
}

// --- Random documents --------------------------------------------------------------------

class Gen {
public:
    explicit Gen(std::uint32_t seed) : rng_(seed) {}

    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
    bool chance(int percent) { return pick(100) < percent; }

    std::string key() {
        static const char* pool[] = {"a", "b", "id",   "title", "x~y",    "a/b",     "~1",          "/", "~0~",
                                     "",  "ü", "日本", "m~/n",  "sp ace", "q\"uote", "back\\slash", "0", "-"};
        std::string k = pool[pick(static_cast<int>(std::size(pool)))];
        if (chance(20)) k += std::to_string(pick(5));
        return k;
    }

    json::value scalar() {
        switch (pick(8)) {
            case 0:
                return nullptr;
            case 1:
                return chance(50);
            case 2:
                return pick(2001) - 1000;
            case 3:
                return (pick(4001) - 2000) + (1 + 2 * pick(4)) / 8.0;  // non-integral, exactly printable
            case 4:
                return std::uint64_t(18446744073709551615ull) - static_cast<std::uint64_t>(pick(3));
            default: {
                static const char* pool[] = {"",       "x",       "~",     "/",   "~1/~0", "héllo",
                                             "日本語", "emoji 😀", "tab\t", "q\"", "\\",    "line\nbreak"};
                return json::string(pool[pick(static_cast<int>(std::size(pool)))]);
            }
        }
    }

    json::value value(int depth) {
        if (depth >= 6 || chance(40)) return scalar();
        if (chance(50)) {
            json::object o;
            for (int n = pick(5); n > 0; --n) o[key()] = value(depth + 1);
            return o;
        }
        json::array a;
        for (int n = pick(5); n > 0; --n) a.push_back(value(depth + 1));
        return a;
    }

    // A few random edits somewhere inside `v`, so diffs touch nested paths.
    void mutate(json::value& v, int depth) {
        if (depth >= 6 || chance(15)) {
            v = value(depth);
            return;
        }
        if (auto* o = v.if_object()) {
            if (!o->empty() && chance(70)) {
                auto it = o->begin() + pick(static_cast<int>(o->size()));
                switch (pick(3)) {
                    case 0:
                        o->erase(it);
                        break;
                    default:
                        mutate(it->value(), depth + 1);
                }
            } else {
                (*o)[key()] = value(depth + 1);
            }
        } else if (auto* a = v.if_array()) {
            int n = static_cast<int>(a->size());
            switch (pick(5)) {
                case 0:
                    a->push_back(value(depth + 1));
                    break;
                case 1:
                    if (n) a->pop_back();
                    break;
                case 2:
                    if (n) a->erase(a->begin() + pick(n));
                    break;
                case 3:
                    a->insert(a->begin() + pick(n + 1), value(depth + 1));
                    break;
                default:
                    if (n) mutate((*a)[static_cast<std::size_t>(pick(n))], depth + 1);
            }
        } else {
            v = value(depth);
        }
    }

private:
    std::mt19937 rng_;
};

}  // namespace

TEST_CASE("differ: nested objects report leaf paths in document order", "[differ]") {
    auto d = diff_json(R"({"a":{"b":1,"c":{"d":"x"}},"e":true})", R"({"a":{"b":2,"c":{"d":"x","f":null}},"g":[]})");
    std::vector<FieldChange> want{
        fc("/a/b", ChangeOp::changed, "1", "2"),
        fc("/a/c/f", ChangeOp::added, "", "null"),
        fc("/e", ChangeOp::removed, "true", ""),
        fc("/g", ChangeOp::added, "", "[]"),
    };
    CHECK(d == want);
}

TEST_CASE("differ: arrays compare by index, growing and shrinking at the end", "[differ]") {
    CHECK(diff_json("[1,2]", "[1,2,3,4]") ==
          std::vector<FieldChange>{fc("/2", ChangeOp::added, "", "3"), fc("/3", ChangeOp::added, "", "4")});
    CHECK(diff_json("[1,2,3,4]", "[1,5]") == std::vector<FieldChange>{fc("/1", ChangeOp::changed, "2", "5"),
                                                                      fc("/2", ChangeOp::removed, "3", ""),
                                                                      fc("/3", ChangeOp::removed, "4", "")});
    CHECK(diff_json(R"({"l":[{"a":1},{"a":2}]})", R"({"l":[{"a":1},{"a":3}]})") ==
          std::vector<FieldChange>{fc("/l/1/a", ChangeOp::changed, "2", "3")});

    // The patch removes from the highest index down and adds in ascending order.
    CHECK(json_patch("[1,2,3,4]", "[1]") ==
          R"([{"op":"remove","path":"/3"},{"op":"remove","path":"/2"},{"op":"remove","path":"/1"}])");
    CHECK(json_patch("[1]", R"([1,"a","b"])") ==
          R"([{"op":"add","path":"/1","value":"a"},{"op":"add","path":"/2","value":"b"}])");
}

TEST_CASE("differ: a change of type is one change at that path", "[differ]") {
    CHECK(diff_json(R"({"a":{"b":1}})", R"({"a":"text"})") ==
          std::vector<FieldChange>{fc("/a", ChangeOp::changed, R"({"b":1})", R"("text")")});
    CHECK(diff_json(R"({"a":[1]})", R"({"a":{"0":1}})") ==
          std::vector<FieldChange>{fc("/a", ChangeOp::changed, "[1]", R"({"0":1})")});
    CHECK(diff_json(R"({"a":1})", R"({"a":"1"})") ==
          std::vector<FieldChange>{fc("/a", ChangeOp::changed, "1", R"("1")")});
    CHECK(diff_json(R"({"a":false})", R"({"a":0})").size() == 1);
}

TEST_CASE("differ: null and missing are different", "[differ]") {
    CHECK(diff_json(R"({"a":null})", R"({})") == std::vector<FieldChange>{fc("/a", ChangeOp::removed, "null", "")});
    CHECK(diff_json(R"({})", R"({"a":null})") == std::vector<FieldChange>{fc("/a", ChangeOp::added, "", "null")});
    CHECK(diff_json(R"({"a":null})", R"({"a":0})") ==
          std::vector<FieldChange>{fc("/a", ChangeOp::changed, "null", "0")});
    CHECK(diff_json(R"({"a":null})", R"({"a":null})").empty());
}

TEST_CASE("differ: keys with ~ and / are escaped per RFC 6901", "[differ]") {
    auto d = diff_json(R"({"a/b":{"c~d":1},"~1":0})", R"({"a/b":{"c~d":2},"~1":1})");
    REQUIRE(d.size() == 2);
    CHECK(d[0].path == "/a~1b/c~0d");
    CHECK(d[1].path == "/~01");
    CHECK(json_pointer_escape("~/") == "~0~1");
    CHECK(json_pointer_escape("~1") == "~01");
    CHECK(json_pointer_escape("") == "");
    CHECK(diff_json(R"({"":1})", R"({"":2})")[0].path == "/");  // the empty key is "/", not the root
    CHECK(json_patch(R"({"a/b":1})", R"({})") == R"([{"op":"remove","path":"/a~1b"}])");
}

TEST_CASE("differ: empty documents, root scalars, equal documents", "[differ]") {
    CHECK(diff_json("{}", "{}").empty());
    CHECK(diff_json("[]", "[]").empty());
    CHECK(json_patch("{}", "{}") == "[]");
    CHECK(diff_json("1", "2") == std::vector<FieldChange>{fc("", ChangeOp::changed, "1", "2")});
    CHECK(diff_json("\"a\"", "null") == std::vector<FieldChange>{fc("", ChangeOp::changed, "\"a\"", "null")});
    CHECK(diff_json("{}", "[]") == std::vector<FieldChange>{fc("", ChangeOp::changed, "{}", "[]")});
    CHECK(json_patch("1", "[2]") == R"([{"op":"replace","path":"","value":[2]}])");

    const char* doc = R"({"a":[1,{"b":"c","d":[true,null]}],"e":{"f":1.5}})";
    CHECK(diff_json(doc, doc).empty());
    CHECK(json_patch(doc, doc) == "[]");
    // Whitespace and key order do not matter.
    CHECK(diff_json(doc, "{ \"e\": {\"f\": 1.5},\n \"a\": [1, {\"d\": [true, null], \"b\": \"c\"}] }").empty());
}

TEST_CASE("differ: numbers compare by value across representations", "[differ]") {
    CHECK(diff_json("[1, 1.0, 100, -3]", "[1.0, 1, 1e2, -3.0]").empty());
    CHECK(diff_json("18446744073709551615", "18446744073709551615").empty());
    CHECK(diff_json("5", "5.5").size() == 1);
    CHECK(diff_json("-1", "18446744073709551615").size() == 1);
    // 2^53 + 1 is not the double 2^53.
    CHECK(diff_json("9007199254740993", "9007199254740992.0").size() == 1);
    CHECK(diff_json("9007199254740992", "9007199254740992.0").empty());
    CHECK(diff_json("9223372036854775807", "9223372036854775808.0").size() == 1);
}

TEST_CASE("differ: payload diff ignores top-level fields only the server has", "[differ]") {
    auto before = json::parse(R"({"id":"e1","title":"old","tags":["a"],"meta":{"x":1,"y":2},"updated_at":5})");
    auto payload = json::parse(R"({"title":"new","tags":["a"],"meta":{"x":1},"done":true})");
    std::vector<FieldChange> d;
    detail::diff_payload(before, payload, d);
    // Nested objects are still compared in full: only top-level server fields are skipped.
    std::vector<FieldChange> want{
        fc("/title", ChangeOp::changed, R"("old")", R"("new")"),
        fc("/meta/y", ChangeOp::removed, "2", ""),
        fc("/done", ChangeOp::added, "", "true"),
    };
    CHECK(d == want);

    d.clear();
    detail::diff_payload(json::parse("[1]"), json::parse("{}"), d);  // not both objects: a plain diff
    CHECK(d == std::vector<FieldChange>{fc("", ChangeOp::changed, "[1]", "{}")});

    d.clear();
    detail::diff_values(before, payload, d);
    CHECK(d.size() == 5);  // id, title, meta/y, updated_at, done
}

TEST_CASE("differ: invalid JSON throws JsonError with line and column", "[differ][errors]") {
    const std::string bad = "{\n  \"a\": 1,\n  \"b\": [1, 2,,]\n}";
    try {
        diff_json("{}", bad);
        FAIL("no exception");
    } catch (const JsonError& e) {
        CHECK(e.line() == 3);
        CHECK(e.column() == 14);
        CHECK(e.offset() == bad.find(",,") + 1);
        CHECK_THAT(e.what(), Catch::Contains("'to'") && Catch::Contains("line 3, column 14"));
    }
    try {
        json_patch("[1,\n2", "[]");
        FAIL("no exception");
    } catch (const JsonError& e) {
        CHECK(e.line() == 2);
        CHECK_THAT(e.what(), Catch::Contains("'from'"));
    }
    CHECK_THROWS_AS(diff_json("", "{}"), JsonError);
    CHECK_THROWS_AS(diff_json("{} {}", "{}"), JsonError);
    CHECK_THROWS_AS(json_patch("{}", "{\"a\":}"), JsonError);
}

TEST_CASE("differ: field changes round-trip through JSON", "[differ]") {
    auto d = diff_json(R"({"a":{"b":[1,2]},"c":null,"d":"x","e":1.5})", R"({"a":{"b":[1]},"c":{"k":"v"},"f":[]})");
    REQUIRE(d.size() == 5);
    std::string text = field_changes_to_json(d);
    CHECK(text ==
          R"([{"path":"/a/b/1","op":"removed","from":2},{"path":"/c","op":"changed","from":null,"to":{"k":"v"}},)"
          R"({"path":"/d","op":"removed","from":"x"},{"path":"/e","op":"removed","from":1.5},)"
          R"({"path":"/f","op":"added","to":[]}])");
    CHECK(field_changes_from_json(text) == d);
    CHECK(field_changes_to_json({}) == "[]");
    CHECK(field_changes_from_json("[]").empty());

    // Hand-built text that is not JSON is kept as a string; the output stays valid JSON.
    std::vector<FieldChange> odd{fc("/x", ChangeOp::changed, "not json", "2")};
    auto odd_text = field_changes_to_json(odd);
    CHECK(odd_text == R"([{"path":"/x","op":"changed","from":"not json","to":2}])");
    CHECK_NOTHROW(json::parse(odd_text));
    // Nesting past the parser's limit, trailing data and a bad escape are not JSON either;
    // JSON with spaces stays JSON (read back, it is the same value).
    const std::string deep = std::string(100, '[') + std::string(100, ']');
    std::vector<FieldChange> edge{fc("/d", ChangeOp::changed, deep, "1 2"), fc("/u", ChangeOp::added, "", R"("\x")"),
                                  fc("/s", ChangeOp::added, "", " { \"k\" : [ 1 , 2 ] } ")};
    const auto edge_text = field_changes_to_json(edge);
    const auto back = json::parse(edge_text).as_array();
    CHECK(back[0].at("from").is_string());
    CHECK(back[0].at("to") == "1 2");
    CHECK(back[1].at("to").is_string());
    CHECK(back[2].at("to") == json::parse(R"({"k":[1,2]})"));
    CHECK(field_changes_from_json(edge_text)[2].to == R"({"k":[1,2]})");
}

TEST_CASE("differ: field_changes_from_json rejects malformed input", "[differ][errors]") {
    auto message = [](std::string_view text) {
        try {
            field_changes_from_json(text);
        } catch (const JsonError& e) {
            return std::string(e.what());
        }
        return std::string("no exception");
    };
    CHECK_THAT(message("{\"path\":\"/a\"}"), Catch::Contains("expected an array"));
    CHECK_THAT(message("[1]"), Catch::Contains("[0]: expected an object, got number"));
    CHECK_THAT(message(R"([{"op":"added"}])"), Catch::Contains("[0].path: expected a string"));
    CHECK_THAT(message(R"([{"path":"/a","op":"added"},{"path":3,"op":"added"}])"),
               Catch::Contains("[1].path: expected a string, got number"));
    CHECK_THAT(message(R"([{"path":"/a","op":"moved"}])"), Catch::Contains("[0].op: expected \"added\""));
    CHECK_THAT(message(R"([{"path":"/a","op":true}])"), Catch::Contains("[0].op"));
    CHECK_THAT(message(R"([{"path":"/a"}])"), Catch::Contains("[0].op"));
    try {
        field_changes_from_json("[\n{\"path\": }]");
        FAIL("no exception");
    } catch (const JsonError& e) {
        CHECK(e.line() == 2);
        CHECK(e.column() == 10);
    }
}

TEST_CASE("differ: to_string(ChangeOp)", "[differ]") {
    CHECK(std::string(to_string(ChangeOp::added)) == "added");
    CHECK(std::string(to_string(ChangeOp::removed)) == "removed");
    CHECK(std::string(to_string(ChangeOp::changed)) == "changed");
}

TEST_CASE("differ: property: applying json_patch(a, b) to a yields b", "[differ][property]") {
    Gen g(20241125);
    int nontrivial = 0;
    for (int iter = 0; iter < 2500; ++iter) {
        json::value a = g.value(0);
        json::value b = a;
        for (int n = 1 + g.pick(4); n > 0; --n) g.mutate(b, 0);
        const std::string ta = detail::to_text(a), tb = detail::to_text(b);
        INFO("a = " << ta << "\nb = " << tb);

        const std::string patch = json_patch(ta, tb);
        INFO("patch = " << patch);
        json::value got;
        REQUIRE_NOTHROW(got = apply_patch(json::parse(ta), patch));
        REQUIRE(got == json::parse(tb));

        // The field list is the same walk: one entry per patch operation, none when equal.
        auto changes = diff_json(ta, tb);
        CHECK(changes.size() == json::parse(patch).as_array().size());
        CHECK(changes.empty() == (a == b));
        if (!changes.empty()) ++nontrivial;
        CHECK(field_changes_from_json(field_changes_to_json(changes)) == changes);
        // The direct writer writes what serializing the value shape gives.
        CHECK(field_changes_to_json(changes) == detail::to_text(detail::changes_value(changes)));
        CHECK(diff_json(tb, tb).empty());
    }
    CHECK(nontrivial > 2000);
}
