// The differ: diff_json, json_patch and the field-change JSON round trip.
//
// Input: document A RS document B. Without a separator A is compared with itself and with {}.
//
// Properties: only JsonError escapes, and only when a side is not JSON; for two valid
// documents the RFC 6902 patch applied to A (tests/support's strict applier) yields B up to
// number representation, the field list is empty exactly when the documents are equal,
// lists one change per patch operation, and survives field_changes_to_json/_from_json.
#include "fuzz_common.hpp"
#include "support/json_patch.hpp"
#include "tether/differ.hpp"
#include "tether/errors.hpp"

using namespace tether;
namespace tf = tether::fuzz;
namespace json = boost::json;

namespace {

// The applier parses the patch with Boost.JSON's default depth limit (32); a patch wraps
// values two levels deeper than the documents hold them.
constexpr std::size_t applier_max_depth = 30;

void check_pair(std::string_view a_text, std::string_view b_text) {
    const auto a = tf::parse(a_text);
    const auto b = tf::parse(b_text);
    std::vector<FieldChange> changes;
    std::string patch;
    try {
        changes = diff_json(a_text, b_text);
        patch = json_patch(a_text, b_text);
    } catch (const JsonError& e) {
        FUZZ_CHECK(!a || !b, std::string("JsonError on valid documents: ") + e.what());
        FUZZ_CHECK(e.line() >= 1 && e.column() >= 1);
        return;
    }
    FUZZ_CHECK(a && b, "invalid JSON accepted by the differ");

    const auto p = tf::parse(patch, 1000);
    if (!p || !p->is_array()) tf::fail("json_patch is not a JSON array", patch.substr(0, 200));
    FUZZ_CHECK(p->get_array().size() == changes.size(), "patch and field list disagree");
    FUZZ_CHECK(changes.empty() == tf::equivalent(*a, *b), "empty diff must mean equal documents");

    if (std::max(tf::depth(*a), tf::depth(*b)) <= applier_max_depth) {
        json::value applied;
        try {
            applied = tether::test::apply_patch(*a, patch);
        } catch (const std::exception& e) {
            tf::fail("patch does not apply to A", std::string(e.what()) + " patch: " + patch.substr(0, 500));
        }
        FUZZ_CHECK(tf::equivalent(applied, *b, true), "applying the patch to A does not give B: " + patch.substr(0, 500));
    }

    for (const auto& c : changes) {
        FUZZ_CHECK(c.path.empty() || c.path[0] == '/', c.path);
        FUZZ_CHECK((c.op == ChangeOp::added) == c.from.empty());
        FUZZ_CHECK((c.op == ChangeOp::removed) == c.to.empty());
        FUZZ_CHECK(c.from.empty() || tf::parse(c.from, 1000), c.from);
        FUZZ_CHECK(c.to.empty() || tf::parse(c.to, 1000), c.to);
    }
    const std::string list = field_changes_to_json(changes);
    std::vector<FieldChange> back;
    try {
        back = field_changes_from_json(list);
    } catch (const JsonError& e) {
        // Deep values embedded two levels down may exceed the parser's depth limit.
        FUZZ_CHECK(std::max(tf::depth(*a), tf::depth(*b)) > 60, std::string("field list does not parse back: ") + e.what());
        return;
    }
    // Values come back as the parser reads them: Boost.JSON 1.81 reads doubles to within an
    // ulp or two (exact parsing arrived in 1.83), and the list is written and read twice.
    FUZZ_CHECK(back.size() == changes.size());
    auto same = [](const std::string& x, const std::string& y) {
        if (x.empty() || y.empty()) return x == y;
        auto vx = tf::parse(x, 1000), vy = tf::parse(y, 1000);
        return vx && vy && tf::equivalent(*vx, *vy, true);
    };
    for (std::size_t i = 0; i < back.size(); ++i) {
        FUZZ_CHECK(back[i].path == changes[i].path && back[i].op == changes[i].op, "field change " + std::to_string(i));
        FUZZ_CHECK(same(back[i].from, changes[i].from), back[i].from + " vs " + changes[i].from);
        FUZZ_CHECK(same(back[i].to, changes[i].to), back[i].to + " vs " + changes[i].to);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto cut = input.find(tf::part_separator);
    if (cut == std::string_view::npos) {
        check_pair(input, input);
        check_pair(input, "{}");
        check_pair("{}", input);
        return 0;
    }
    const std::string_view a = input.substr(0, cut), b = input.substr(cut + 1);
    check_pair(a, b);
    check_pair(b, a);
    return 0;
}
