// tether conflicts / failures: the ConflictStore list and the FailureStore groups.
#include "cli.hpp"
#include "format.hpp"
#include "tether/conflict_store.hpp"
#include "tether/failure_store.hpp"

namespace tether::cli {

int run_conflicts(Context& c) {
    c.no_positional();
    ConflictFilter f;
    f.model = c.text("--model");
    f.client_id = c.text("--client");
    f.entity_id = c.text("--entity");
    f.resolver = c.text("--resolver");
    f.instance = c.text("--instance");
    f.resolution = c.choice("--resolution", parse_resolution, "server_wins, client_wins, merged, rejected");
    c.time_range(f);
    const PageRequest page = c.page(50);
    const bool as_json = c.flag("--json");
    const auto result = ConflictStore(c.storage()).list(f, page);
    std::ostream& out = c.out();
    if (as_json) {
        out << to_json(result) << '\n';
        return exit_ok;
    }
    if (result.items.empty()) {
        out << "No conflicts match.\n";
    } else {
        Table t({{"STARTED"},
                 {"MUTATION ROW"},
                 {"REQUEST"},
                 {"MODEL", Align::left, 24},
                 {"ENTITY ID"},
                 {"CLIENT", Align::left, 24},
                 {"RESOLVER", Align::left, 24},
                 {"RESOLUTION"},
                 {"OUTCOME"},
                 {"FIELDS", Align::left, 60}});
        for (const auto& k : result.items) {
            std::vector<std::string> fields;
            for (const auto& ch : k.fields) fields.push_back(ch.path);
            t.add({short_time(k.started_at_us), k.id, k.request_id, or_dash(k.model), or_dash(k.entity_id),
                   or_dash(k.client_id), or_dash(k.resolver), k.resolution ? to_string(*k.resolution) : "-",
                   to_string(k.outcome), join(fields, " ")});
        }
        t.print(out);
    }
    out << (result.next_cursor.empty() ? std::string("(last page)") : "next cursor: " + result.next_cursor) << '\n';
    return exit_ok;
}

int run_failures(Context& c) {
    c.no_positional();
    FailureGroupQuery q;
    q.model = c.text("--model");
    q.reason = c.text("--reason");
    q.instance = c.text("--instance");
    q.client_id = c.text("--client");
    q.systematic_only = c.flag("--systematic");
    q.sort = c.choice("--sort", parse_failure_group_sort, "count, last_seen").value_or(FailureGroupQuery::Sort::count);
    q.limit = c.limit(20);
    const bool as_json = c.flag("--json");
    const SystemClock clock;
    const auto groups = FailureStore(c.storage(), c.config().failures, &clock).groups(q);
    std::ostream& out = c.out();
    if (as_json) {
        out << to_json(groups) << '\n';
        return exit_ok;
    }
    if (groups.empty()) {
        out << "No failure groups match.\n";
        return exit_ok;
    }
    Table t({{"FINGERPRINT"},
             {"KIND"},
             {"MODEL", Align::left, 24},
             {"REASON", Align::left, 24},
             {"FIELDS", Align::left, 40},
             {"COUNT", Align::right},
             {"CLIENTS", Align::right},
             {"LAST HOUR", Align::right},
             {"HOUR BEFORE", Align::right},
             {"LAST SEEN"},
             {"SYSTEMATIC"}});
    for (const auto& g : groups)
        t.add({g.fingerprint, to_string(g.kind), or_dash(g.model), or_dash(g.reason), join(g.fields, " "),
               std::to_string(g.count), std::to_string(g.clients), std::to_string(g.last_hour),
               std::to_string(g.previous_hour), short_time(g.last_seen_us),
               g.systematic ? "yes: " + join(g.systematic_clients, " ") : "no"});
    t.print(out);
    bool header = false;
    for (const auto& g : groups) {
        if (!g.systematic || g.explanation.empty()) continue;
        if (!header) out << "\nSystematic groups\n";
        header = true;
        out << "  " << g.fingerprint << "  " << printable(g.explanation) << '\n';
    }
    return exit_ok;
}

}  // namespace tether::cli
