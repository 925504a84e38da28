// tether diff: the library's differ on two JSON files (RFC 6902 patch or field list).
#include "cli.hpp"
#include "format.hpp"
#include "json_input.hpp"
#include "tether/differ.hpp"

namespace tether::cli {

int run_diff(Context& c) {
    const auto& p = c.args().positional();
    if (p.size() != 2)
        throw UsageError(std::string(p.size() < 2 ? "two JSON files are needed" : "too many arguments") +
                         ": tether diff A.json B.json (either may be - for stdin)");
    if (p[0] == "-" && p[1] == "-") throw UsageError("only one side can be read from stdin (-)");
    const bool fields = c.flag("--fields");
    const bool as_json = c.flag("--json");
    if (as_json && !fields) throw UsageError("--json goes with --fields (the patch is always JSON)");

    // Both sides are parsed here first, so that an error names its file and position.
    const std::string a = read_input(p[0]), b = read_input(p[1]);
    parse_json_input(a, input_name(p[0]));
    parse_json_input(b, input_name(p[1]));

    std::ostream& out = c.out();
    if (!fields) {
        out << json_patch(a, b) << '\n';
        return exit_ok;
    }
    const auto changes = diff_json(a, b);
    if (as_json) {
        out << field_changes_to_json(changes) << '\n';
        return exit_ok;
    }
    if (changes.empty()) {
        out << "No differences.\n";
        return exit_ok;
    }
    Table t({{"OP"}, {"PATH", Align::left, 60}, {"FROM", Align::left, 50}, {"TO", Align::left, 50}});
    for (const auto& ch : changes)
        t.add({to_string(ch.op), ch.path.empty() ? "(root)" : ch.path, or_dash(ch.from), or_dash(ch.to)});
    t.print(out);
    return exit_ok;
}

}  // namespace tether::cli
