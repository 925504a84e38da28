// The command table: names, options and help texts. docs/cli.md says the same in prose;
// keep the two in step.
#include <sstream>

#include "cli.hpp"
#include "tether/open_storage.hpp"
#include "tether/version.hpp"

namespace tether::cli {

const char* const exit_status_help =
    "Exit status:\n"
    "  0  success\n"
    "  1  not found: no request with the id given\n"
    "  2  usage error: unknown subcommand or option, missing or invalid value\n"
    "  3  input error: a file that cannot be read or written, JSON that does not parse (the\n"
    "     message gives line, column and byte), a database that does not exist or cannot be\n"
    "     opened, a request that cannot be previewed (a pull)\n"
    "  4  storage error: the database failed while answering\n"
    "Errors are printed on stderr as \"tether: <subcommand>: <message>\".\n";

namespace {

const OptionSpec db_option{"--db", "URL",
                           "the observer database: a SQLite file (PATH, sqlite:PATH) or a PostgreSQL URL "
                           "(postgresql://…); required"};
const OptionSpec config_option{"--config", "FILE",
                               "the server's tether configuration (JSON), for its health, failure-group and "
                               "stuck-client thresholds and storage.busy_timeout_ms; defaults otherwise"};
const OptionSpec help_option{"--help", "", "show this help (also: tether help <subcommand>)"};
const OptionSpec json_option{"--json", "", "print the JSON document the dashboard's API answers instead of a table"};
const OptionSpec limit_option{"--limit", "N", "items per page, 1-500 (default 50)"};
const OptionSpec cursor_option{"--cursor", "CURSOR", "continue after a previous page (its printed next cursor)"};
const OptionSpec from_option{"--from", "TIME",
                             "started at or after TIME: ISO-8601 with a zone (2026-11-24T10:05:00Z, "
                             "2026-11-24T11:05+01:00) or microseconds since 1970"};
const OptionSpec to_option{"--to", "TIME", "started before TIME (same forms as --from)"};
const OptionSpec instance_option{"--instance", "NAME", "only this server instance"};

// The request filters shared by `requests` and `export`.
std::vector<OptionSpec> request_filters() {
    return {
        {"--kind", "KIND", "push or pull"},
        {"--client", "ID", "one client id"},
        {"--model", "MODEL", "requests that pushed or pulled this model"},
        {"--outcome", "OUTCOME", "ok, conflict, rejected, error, or failed (= rejected or error)"},
        {"--failed", "", "only failed requests (outcome rejected or error)"},
        instance_option,
        from_option,
        to_option,
    };
}

template <class... Extra>
std::vector<OptionSpec> concat(std::vector<OptionSpec> base, Extra... extra) {
    (base.push_back(std::move(extra)), ...);
    return base;
}

// Wraps `text` at `width` columns, every line prefixed by `indent`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width) {
    std::string out, line;
    std::istringstream words(text);
    std::string word;
    while (words >> word) {
        if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
            out += std::string(indent, ' ') + line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
    return out;
}

std::vector<Command> make_commands() {
    std::vector<Command> list;

    list.push_back(Command{
        "stats",
        "throughput, latency, conflict and failure rates, health, top models and clients",
        "tether stats --db URL [--window 1h|6h|24h|7d] [--instance NAME] [--json]",
        "The metrics document the dashboard shows, read from the telemetry rollups (as cheap on a "
        "huge database as on a small one). The window ends with the current 5-minute bucket. "
        "--json prints the document GET {prefix}/metrics answers; its `recorder` counters belong "
        "to a running server's recorder and are zero here.",
        {{"--window", "WINDOW", "1h, 6h, 24h or 7d (default 24h)"}, instance_option, json_option},
        "  tether stats --db observer.db\n"
        "  tether stats --db observer.db --window 1h --instance eu-1 --json\n",
        true,
        run_stats,
    });

    list.push_back(Command{
        "requests",
        "captured pushes and pulls, newest first, filtered and paged",
        "tether requests --db URL [FILTERS] [--limit N] [--cursor CURSOR] [--json]",
        "One page of captured requests, newest first, with the filters of GET {prefix}/api/requests. "
        "The last line gives the cursor of the next page (pass it to --cursor); --json prints "
        "{items, next_cursor}.",
        concat(request_filters(), limit_option, cursor_option, json_option),
        "  tether requests --db observer.db --kind push --failed --limit 20\n"
        "  tether requests --db observer.db --client c-7f3a --from 2026-11-24T10:00:00Z --json\n",
        true,
        run_requests,
    });

    list.push_back(Command{
        "show",
        "one request with its mutations (outcome, reason, conflicts, validation)",
        "tether show --db URL REQUEST_ID [--bodies] [--json]",
        "The captured request (already redacted when it was stored) and every mutation it pushed, "
        "in push order. --bodies adds the stored request and response bodies to the table output. "
        "--json prints the document GET {prefix}/api/requests/{id} answers with a `mutations` "
        "member holding each mutation as GET {prefix}/api/mutations/{id} answers it. An unknown id "
        "exits 1.",
        {{"--bodies", "", "also print the stored (redacted) request and response bodies"}, json_option},
        "  tether show --db observer.db 01M8AQ0YZ03BP69KEH50XBKN1R\n",
        true,
        run_show,
    });

    list.push_back(Command{
        "conflicts",
        "conflicted mutations with their context, newest first",
        "tether conflicts --db URL [FILTERS] [--limit N] [--cursor CURSOR] [--json]",
        "One page of conflicts (whatever the resolver decided), newest first, with the filters of "
        "GET {prefix}/api/conflicts; --json prints {items, next_cursor}.",
        {{"--model", "MODEL", "one model"},
         {"--client", "ID", "one client id"},
         {"--entity", "ID", "one entity id"},
         {"--resolver", "NAME", "one resolver (as the host reported it)"},
         {"--resolution", "RESOLUTION", "server_wins, client_wins, merged or rejected"},
         instance_option,
         from_option,
         to_option,
         limit_option,
         cursor_option,
         json_option},
        "  tether conflicts --db observer.db --model Task --resolution server_wins\n",
        true,
        run_conflicts,
    });

    list.push_back(Command{
        "failures",
        "failure groups: what fails, how often, for whom, and whether it is systematic",
        "tether failures --db URL [--model MODEL] [--reason REASON] [--client ID] [--systematic] "
        "[--sort count|last_seen] [--instance NAME] [--limit N] [--json]",
        "Failures (rejected mutations and failed requests) grouped by fingerprint: kind, model, "
        "reason and failing fields. A group is systematic when one client keeps failing in it "
        "(thresholds from --config). --json prints GET {prefix}/api/failures/groups.",
        {{"--model", "MODEL", "one model"},
         {"--reason", "REASON", "one reason (validation_failed, not_found, http_500, ...)"},
         {"--client", "ID", "groups this client has failures in"},
         {"--systematic", "", "only systematic groups"},
         {"--sort", "ORDER", "count (default) or last_seen"},
         instance_option,
         {"--limit", "N", "groups, 1-500 (default 20)"},
         json_option},
        "  tether failures --db observer.db --systematic\n",
        true,
        run_failures,
    });

    list.push_back(Command{
        "prune",
        "delete requests older than a duration (with --dry-run: only count them)",
        "tether prune --db URL --older-than DURATION [--dry-run]",
        "Deletes the requests that started more than DURATION ago, with their mutations and failure "
        "rows, oldest first in short transactions (a running server keeps writing meanwhile). "
        "DURATION is a whole number and a unit: 45s, 30m, 12h, 7d, 2w. Telemetry rollups and the "
        "counts behind conflict patterns and failure groups are kept (they have their own "
        "retention), so `stats` does not change. --dry-run counts the requests that would be "
        "deleted and deletes nothing.",
        {{"--older-than", "DURATION", "required: 45s, 30m, 12h, 7d, 2w"},
         {"--dry-run", "", "count what would be deleted, delete nothing"}},
        "  tether prune --db observer.db --older-than 7d --dry-run\n"
        "  tether prune --db observer.db --older-than 30d\n",
        true,
        run_prune,
    });

    list.push_back(Command{
        "export",
        "every request with its mutations as NDJSON (one JSON object per line)",
        "tether export --db URL --format ndjson [FILTERS] [--out FILE]",
        "Streams every matching request, newest first, page by page with keyset cursors (memory "
        "stays constant whatever the size of the database). Each line is the document "
        "GET {prefix}/api/requests/{id} answers with a `mutations` member holding its mutations as "
        "GET {prefix}/api/mutations/{id} answers them. The filters are those of `requests`.",
        [] {
            std::vector<OptionSpec> o{{"--format", "FORMAT", "required: ndjson"},
                                      {"--out", "FILE", "write to FILE instead of stdout (replaced if it exists)"}};
            for (auto& f : request_filters()) o.push_back(std::move(f));
            return o;
        }(),
        "  tether export --db observer.db --format ndjson --out requests.ndjson\n"
        "  tether export --db observer.db --format ndjson --kind push --failed | jq .id\n",
        true,
        run_export,
    });

    list.push_back(Command{
        "replay-preview",
        "dry run of a captured push against the server's current records",
        "tether replay-preview --db URL REQUEST_ID --state FILE.json [--limit N] [--cursor CURSOR] [--json]",
        "What the server would decide if the captured push arrived again now, per mutation: "
        "apply, conflict, not_found or duplicate, with the reason, the current record and the "
        "diff against the captured payload. It needs a state source: --state FILE.json holding the "
        "server's current records as {\"Model\": {\"entity_id\": {record}}}; an entity absent from "
        "the file (or null) does not exist. A record's `updated_at` (ISO-8601 text, or a number of "
        "seconds, milliseconds or microseconds since 1970, told apart by size) is the time "
        "client timestamps are compared with; without it no conflict is predicted. The file "
        "lists no applied mutation ids, so `duplicate` is never predicted. Nothing is written "
        "anywhere; live replay is the dashboard's job. --json prints "
        "GET {prefix}/api/requests/{id}/replay/preview.",
        {{"--state", "FILE", "required: the server's current records as JSON (- for stdin)"},
         {"--limit", "N", "mutations per page, 1-500 (default 100)"},
         cursor_option,
         json_option},
        "  tether replay-preview --db observer.db 01M8AQ0YZ03BP69KEH50XBKN1R --state records.json\n",
        true,
        run_replay_preview,
    });

    list.push_back(Command{
        "diff",
        "RFC 6902 JSON Patch (or the field-level list) between two JSON files",
        "tether diff A.json B.json [--fields] [--json]",
        "Prints the RFC 6902 JSON Patch that turns A into B, as one JSON array (the `patch` of the "
        "dashboard's mutation pages). --fields prints the field-level list instead: one line per "
        "differing leaf with op (added, removed, changed), JSON Pointer path and values; with "
        "--json as [{path, op, from, to}]. Either side may be - for stdin. No database is used.",
        {{"--fields", "", "print the field-level changes instead of a JSON Patch"},
         {"--json", "", "with --fields: print the changes as JSON"}},
        "  tether diff before.json after.json\n"
        "  curl -s …/api/mutations/ID | jq .payload | tether diff --fields server.json -\n",
        false,
        run_diff,
    });
    return list;
}

}  // namespace

std::vector<OptionSpec> Command::all_options() const {
    std::vector<OptionSpec> all;
    if (uses_db) {
        all.push_back(db_option);
        all.push_back(config_option);
    }
    all.insert(all.end(), options.begin(), options.end());
    all.push_back(help_option);
    return all;
}

std::string Command::help() const {
    std::string out = "Usage: " + usage + "\n\n" + wrap(description, 0, 96) + "\nOptions:\n";
    std::size_t width = 0;
    auto label = [](const OptionSpec& o) { return o.name + (o.takes_value() ? " " + o.value_name : ""); };
    const auto opts = all_options();
    for (const auto& o : opts) width = std::max(width, label(o).size());
    for (const auto& o : opts) {
        std::string l = label(o);
        std::string text = wrap(o.help, width + 4, 96);
        text.replace(0, l.size() + 2, "  " + l);
        out += text;
    }
    out += "\nExamples:\n" + examples + "\n" + exit_status_help;
    return out;
}

const std::vector<Command>& commands() {
    static const std::vector<Command> list = make_commands();
    return list;
}

const Command* find_command(std::string_view name) {
    for (const auto& c : commands())
        if (c.name == name) return &c;
    return nullptr;
}

std::string overview_help() {
    std::string out = "tether " TETHER_VERSION_STRING
                      " - look into a tether-pro observer database from the command line\n\n"
                      "Usage: tether [--db URL] [--config FILE] <subcommand> [options]\n"
                      "       tether help <subcommand> | tether <subcommand> --help\n"
                      "       tether --version\n\n"
                      "Subcommands:\n";
    std::size_t width = 0;
    for (const auto& c : commands()) width = std::max(width, c.name.size());
    for (const auto& c : commands())
        out += "  " + c.name + std::string(width - c.name.size() + 2, ' ') + c.summary + "\n";
    out +=
        "\nCommon options (before or after the subcommand):\n"
        "  --db URL       the observer database: a SQLite file (PATH, sqlite:PATH) or postgresql://...\n"
        "                 (backends in this build: " +
        storage_backends_built() +
        ")\n"
        "  --config FILE  the server's tether configuration (JSON), for its thresholds\n"
        "  --help, -h     help; on a subcommand, its options and examples\n"
        "  --version      the version and the storage backends built in\n\n"
        "Options take their value as --opt VALUE or --opt=VALUE; an unknown or repeated option is an\n"
        "error. Times are ISO-8601 with a zone or microseconds since 1970. Output is a table unless\n"
        "--json is given; stored data was redacted when it was captured.\n\n" +
        std::string(exit_status_help) + "\nMore: docs/cli.md\n";
    return out;
}

}  // namespace tether::cli
