// tether requests / show / export: captured requests and their mutations.
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "db.hpp"
#include "format.hpp"
#include "json_input.hpp"
#include "tether/record_json.hpp"
#include "tether/replay_engine.hpp"

namespace tether::cli {

namespace {

namespace json = boost::json;

RequestFilter request_filter(const Context& c) {
    RequestFilter f;
    f.kind = c.choice("--kind", parse_exchange_kind, "push, pull");
    f.client_id = c.text("--client");
    f.model = c.text("--model");
    f.instance = c.text("--instance");
    if (c.text("--outcome") == "failed")
        f.failed_only = true;
    else
        f.outcome = c.choice("--outcome", parse_request_outcome, "ok, conflict, rejected, error, failed");
    if (c.flag("--failed")) {
        if (f.outcome && !is_failure(*f.outcome))
            throw UsageError("--failed and --outcome " + std::string(to_string(*f.outcome)) +
                             " exclude each other (failed = outcome rejected or error)");
        f.failed_only = true;
    }
    c.time_range(f);
    return f;
}

// A stored JSON member as one short line: validation messages become "field: message; …".
std::string validation_line(const std::string& validation_json) {
    if (validation_json.empty()) return {};
    std::error_code ec;
    json::value v = json::parse(validation_json, ec);
    if (ec || !v.is_object()) return printable(validation_json);
    std::string out;
    for (const auto& [field, messages] : v.get_object()) {
        std::string text;
        if (messages.is_array()) {
            for (const auto& m : messages.get_array())
                text += (text.empty() ? "" : " ") + (m.is_string() ? std::string(m.get_string()) : json_text(m));
        } else {
            text = messages.is_string() ? std::string(messages.get_string()) : json_text(messages);
        }
        out += (out.empty() ? "" : "; ") + std::string(field) + ": " + text;
    }
    return out;
}

std::string paths(const std::vector<FieldChange>& changes) {
    std::vector<std::string> list;
    for (const auto& ch : changes) list.push_back(ch.path.empty() ? "(root)" : ch.path);
    return join(list, " ");
}

std::string mutation_detail(const MutationRecord& m) {
    std::vector<std::string> parts;
    if (m.conflict) {
        const auto& k = *m.conflict;
        std::string s = "conflict";
        if (!k.resolver.empty()) s += " " + k.resolver;
        if (k.resolution) s += std::string(" -> ") + to_string(*k.resolution);
        if (!k.fields.empty()) s += "; fields " + paths(k.fields);
        parts.push_back(s);
    }
    if (auto v = validation_line(m.validation_json); !v.empty()) parts.push_back(v);
    if (!m.payload_diff.empty() && !m.conflict && m.operation != "delete")
        parts.push_back("changes " + paths(m.payload_diff));
    if (m.payload_redacted) parts.push_back("payload redacted");
    return parts.empty() ? std::string() : join(parts, "; ");
}

std::string parse_error_line(const std::optional<ParseFailure>& f) {
    if (!f) return {};
    return "invalid JSON at line " + std::to_string(f->line) + ", column " + std::to_string(f->column) + " (byte " +
           std::to_string(f->offset) + "): " + f->message;
}

std::string body_state(const RequestRecord& r, bool request) {
    std::vector<std::string> parts;
    const auto& body = request ? r.request_body : r.response_body;
    if (request ? r.request_body_dropped : r.response_body_dropped)
        parts.push_back("not stored (invalid JSON, redaction.invalid_body = drop)");
    else if (body.empty())
        parts.push_back("empty");
    else
        parts.push_back(std::to_string(body.size()) + " bytes");
    if (request ? r.request_truncated : r.response_truncated) parts.push_back("truncated");
    if (request ? r.request_body_scrubbed : r.response_body_scrubbed) parts.push_back("scrubbed as text");
    if (auto e = parse_error_line(request ? r.request_parse_error : r.response_parse_error); !e.empty())
        parts.push_back(e);
    return join(parts, ", ");
}

std::string optional_int(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "null"; }

void print_request(std::ostream& out, const RequestRecord& r, const std::vector<ReplayLink>& replays) {
    Table t({{"", Align::left, 0}, {"", Align::left, 0}});
    t.add({"kind", to_string(r.kind)});
    t.add({"outcome", std::string(to_string(r.outcome)) + " (HTTP " + std::to_string(r.http_status) + ")"});
    t.add({"client", or_dash(r.client_id) + (r.client_version.empty() ? "" : ", version " + r.client_version)});
    t.add({"instance", or_dash(r.instance)});
    t.add({"started", format_iso8601(r.started_at_us)});
    t.add({"duration", millis_from_us(r.duration_us) + " ms"});
    if (r.kind == ExchangeKind::push) {
        t.add({"mutations", std::to_string(r.mutation_count) + ": applied " + std::to_string(r.applied) +
                                ", rejected " + std::to_string(r.rejected) + ", conflicts " +
                                std::to_string(r.conflicts)});
    } else {
        t.add({"snapshots", std::to_string(r.snapshots)});
        t.add({"pull", "cursor " + optional_int(r.last_sync_cursor) + " -> " + optional_int(r.new_sync_cursor) +
                           ", limit " + optional_int(r.pull_limit) + ", has_more " +
                           (r.has_more ? (*r.has_more ? "true" : "false") : "null")});
    }
    t.add({"models", join(r.models)});
    if (!r.replay_of.empty()) {
        std::string s = "replay of " + r.replay_of;
        if (r.replay_audit) s += " by " + or_dash(r.replay_audit->by) + " at " + short_time(r.replay_audit->at_us);
        t.add({"replay", s});
    }
    for (const auto& link : replays)
        t.add({"replayed as", link.id + " (" + to_string(link.outcome) + ", " + short_time(link.started_at_us) +
                                  (link.audit ? ", by " + or_dash(link.audit->by) : std::string()) + ")"});
    t.add({"request body", body_state(r, true)});
    t.add({"response body", body_state(r, false)});
    for (const auto& h : r.headers) t.add({"header", h.name + ": " + h.value});
    if (!r.redacted_paths.empty()) t.add({"redacted", join(r.redacted_paths)});
    for (const auto& n : r.notes)
        t.add({n.protocol_error ? "protocol error" : "note", n.where + " " + n.path + ": " + n.message});
    t.add({"recorded", format_iso8601(r.recorded_at_us)});
    out << "Request " << r.id << '\n';
    t.print(out, false);
}

std::vector<ReplayLink> replays_of(Storage& storage, const std::string& id) {
    PageRequest page;
    page.limit = PageRequest::max_limit;
    return storage.list_replays(id, page).items;
}

// The request as GET {prefix}/api/requests/{id} answers it (with `replays` and `replay`),
// plus `mutation_details`: every mutation as GET {prefix}/api/mutations/{id}, page by page.
void write_request_document(std::ostream& out, Storage& storage, const RequestRecord& r) {
    std::string head = to_json(r);
    head.pop_back();  // the closing brace
    head += ",\"replays\":" + replay_links_json(replays_of(storage, r.id));
    std::string self = "null";
    if (!r.replay_of.empty()) {
        self = replay_links_json(
            {ReplayLink{r.id, r.replay_of, r.started_at_us, r.http_status, r.outcome, r.replay_audit}});
        self = self.substr(1, self.size() - 2);
    }
    // `mutations` is already the request's count: the rows go under their own key.
    out << head << ",\"replay\":" << self << ",\"mutation_details\":[";
    PageRequest page;
    page.limit = PageRequest::max_limit;
    bool first = true;
    do {
        auto mutations = storage.list_mutations(r.id, {}, page);
        for (const auto& m : mutations.items) {
            if (!first) out << ',';
            first = false;
            out << to_json(m);
        }
        page.cursor = std::move(mutations.next_cursor);
    } while (!page.cursor.empty());
    out << "]}";
}

}  // namespace

int run_requests(Context& c) {
    c.no_positional();
    const RequestFilter filter = request_filter(c);
    const PageRequest page = c.page(50);
    const bool as_json = c.flag("--json");
    const auto result = c.storage().list_requests(filter, page);
    std::ostream& out = c.out();
    if (as_json) {
        out << to_json(result) << '\n';
        return exit_ok;
    }
    if (result.items.empty()) {
        out << "No requests match.\n";
    } else {
        Table t({{"STARTED"},
                 {"ID"},
                 {"KIND"},
                 {"CLIENT", Align::left, 24},
                 {"HTTP", Align::right},
                 {"OUTCOME"},
                 {"MUTATIONS", Align::right},
                 {"APPLIED", Align::right},
                 {"REJECTED", Align::right},
                 {"CONFLICTS", Align::right},
                 {"SNAPSHOTS", Align::right},
                 {"MS", Align::right},
                 {"INSTANCE", Align::left, 20}});
        for (const auto& r : result.items)
            t.add({short_time(r.started_at_us), r.id, to_string(r.kind), or_dash(r.client_id),
                   std::to_string(r.http_status), to_string(r.outcome), std::to_string(r.mutation_count),
                   std::to_string(r.applied), std::to_string(r.rejected), std::to_string(r.conflicts),
                   std::to_string(r.snapshots), millis_from_us(r.duration_us), or_dash(r.instance)});
        t.print(out);
    }
    out << (result.next_cursor.empty() ? std::string("(last page)") : "next cursor: " + result.next_cursor) << '\n';
    return exit_ok;
}

int run_show(Context& c) {
    const std::string id = c.one_positional("REQUEST_ID");
    const bool as_json = c.flag("--json");
    const bool bodies = c.flag("--bodies");
    if (as_json && bodies) throw UsageError("--bodies is for the table output; --json always holds the bodies");
    Storage& storage = c.storage();
    auto r = storage.get_request(id);
    if (!r) fail(exit_not_found, "no request with id '" + id + "'");
    std::ostream& out = c.out();
    if (as_json) {
        write_request_document(out, storage, *r);
        out << '\n';
        return exit_ok;
    }
    print_request(out, *r, replays_of(storage, r->id));
    if (r->kind == ExchangeKind::push) {
        Table t({{"SEQ", Align::right},
                 {"MUTATION ID"},
                 {"MODEL", Align::left, 24},
                 {"ENTITY ID"},
                 {"OP"},
                 {"VERSION", Align::right},
                 {"OUTCOME"},
                 {"REASON", Align::left, 24},
                 {"DETAIL", Align::left, 80}});
        PageRequest page;
        page.limit = PageRequest::max_limit;
        do {
            auto mutations = storage.list_mutations(r->id, {}, page);
            for (const auto& m : mutations.items)
                t.add({std::to_string(m.seq), or_dash(m.mutation_id), or_dash(m.model), or_dash(m.entity_id),
                       or_dash(m.operation), m.version ? std::to_string(*m.version) : "-", to_string(m.outcome),
                       or_dash(m.reason), or_dash(mutation_detail(m))});
            page.cursor = std::move(mutations.next_cursor);
        } while (!page.cursor.empty());
        out << "\nMutations (" << t.size() << " stored)\n";
        if (t.empty())
            out << "  (none)\n";
        else
            t.print(out);
    }
    if (bodies) {
        out << "\nRequest body\n" << r->request_body << (r->request_body.empty() ? "(empty)\n" : "\n");
        out << "\nResponse body\n" << r->response_body << (r->response_body.empty() ? "(empty)\n" : "\n");
    }
    return exit_ok;
}

namespace {
// `--out` naming the database (or its WAL) would truncate it before a single row is read.
// Called after the storage opened, so the URL is known to be well formed.
void refuse_database_as_output(Context& c, const std::string& out_path) {
    const auto db = sqlite_path_of(c.text("--db", 4096));
    if (!db) return;
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        if (std::filesystem::equivalent(out_path, *db + suffix, ec))
            bad_value("--out", out_path, "a file other than the database --db names (and its -wal, -shm, -journal)");
}
}  // namespace

int run_export(Context& c) {
    c.no_positional();
    if (!c.args().has("--format")) throw UsageError("--format is required: --format ndjson");
    const auto format = c.text("--format");
    if (format != "ndjson") bad_value("--format", format, "ndjson");
    const RequestFilter filter = request_filter(c);
    std::string out_path = c.text("--out", 4096);
    if (out_path == "-") out_path.clear();  // the usual spelling of standard output
    Storage& storage = c.storage();
    if (!out_path.empty()) refuse_database_as_output(c, out_path);

    // The export goes to a temporary file renamed over --out at the end: a failed or
    // interrupted export leaves the previous file as it was, never half of a new one.
    const std::string partial = out_path + ".partial";
    struct RemoveUnlessRenamed {
        std::string path;  // "" when writing to stdout
        ~RemoveUnlessRenamed() {
            std::error_code ignored;
            if (!path.empty()) std::filesystem::remove(path, ignored);
        }
    } cleanup{out_path.empty() ? std::string() : partial};
    std::ofstream file;
    if (!out_path.empty()) {
        file.open(partial, std::ios::binary | std::ios::trunc);
        if (!file) fail(exit_input, "--out: cannot write '" + partial + "': " + std::strerror(errno));
    }
    std::ostream& out = out_path.empty() ? c.out() : file;
    auto check_output = [&] {
        if (!out)
            fail(exit_input,
                 "cannot write " + (out_path.empty() ? std::string("to standard output") : "'" + out_path + "'"));
    };

    std::uint64_t lines = 0;
    PageRequest page;
    page.limit = PageRequest::max_limit;
    do {
        auto requests = storage.list_requests(filter, page);
        for (const auto& item : requests.items) {
            auto r = storage.get_request(item.id);  // list items carry no bodies
            if (!r) continue;                       // pruned meanwhile
            write_request_document(out, storage, *r);
            out << '\n';
            ++lines;
        }
        check_output();
        page.cursor = std::move(requests.next_cursor);
    } while (!page.cursor.empty());
    out.flush();
    check_output();
    if (!out_path.empty()) {
        file.close();
        if (!file) fail(exit_input, "cannot write '" + partial + "'");
        std::error_code ec;
        std::filesystem::rename(partial, out_path, ec);
        if (ec) fail(exit_input, "--out: cannot replace '" + out_path + "' with '" + partial + "': " + ec.message());
        cleanup.path.clear();  // renamed: nothing left to remove
        std::cerr << "tether: export: " << lines << " request" << (lines == 1 ? "" : "s") << " written to " << out_path
                  << '\n';
    }
    return exit_ok;
}

}  // namespace tether::cli
