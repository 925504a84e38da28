// The `tether` command line (tools/) as a real process against a SQLite observer database the
// library wrote: every subcommand's output is checked against the storage itself, and every
// bad input ends with its documented exit status and a message naming what was wrong.
#if defined(TETHER_CLI) && defined(TETHER_HAVE_SQLITE)

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/process.hpp"
#include "support/json_patch.hpp"
#include "support/protocol.hpp"
#include "support/temp_dir.hpp"
#include "tether/differ.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tether::e2e::Process;
using tether::test::TempDir;
using tether::test::test_ulid;
using tether::test::TestMutation;

namespace {

struct Run {
    int status = -1;
    std::string out, err;
    std::string what;  // command line and output, for failure messages
};

// Runs the tool; with `stdin_path`, its stdin comes from that file (through sh).
Run tether_cli(const std::vector<std::string>& args, const std::string& stdin_path = {}) {
    std::unique_ptr<Process> p;
    if (stdin_path.empty()) {
        p = std::make_unique<Process>(TETHER_CLI, args);
    } else {
        std::vector<std::string> sh = {"-c", "f=$1; shift; exec \"$@\" < \"$f\"", "sh", stdin_path, TETHER_CLI};
        sh.insert(sh.end(), args.begin(), args.end());
        p = std::make_unique<Process>("/bin/sh", sh);
    }
    const auto status = p->wait(60s);
    INFO(p->describe());
    REQUIRE(status.has_value());
    return {*status, p->out(), p->err(), p->describe()};
}

json::value parse(const std::string& text) {
    std::error_code ec;
    json::value v = json::parse(text, ec);
    INFO(text.substr(0, 2000));
    REQUIRE_FALSE(ec);
    return v;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::uint64_t u64(const json::value& doc, std::string_view pointer) {
    return json::value_to<std::uint64_t>(doc.at_pointer(pointer));
}

constexpr tether::Micros day_us = 86'400'000'000;

// An observer database with a known mix: six recent requests (two instances, a pull, a
// rejection, two conflicts, an HTTP 500) and three ten days old.
struct CliDb {
    TempDir dir;
    std::string path = dir.file("observer.db");
    tether::Micros now = tether::SystemClock().now_us();

    static std::string id(int n) { return test_ulid(static_cast<std::uint64_t>(n), 'R'); }
    static TestMutation mutation(int n, std::string model, std::string operation = "update") {
        TestMutation m;
        m.mutation_id = test_ulid(static_cast<std::uint64_t>(n), 'M');
        m.entity_id = test_ulid(static_cast<std::uint64_t>(n), 'E');
        m.model = std::move(model);
        m.operation = std::move(operation);
        return m;
    }

    CliDb() {
        tether::Config config;
        config.retention.max_age = std::chrono::hours(0);  // keep the old requests for `prune`
        config.retention.max_requests = 0;
        auto observer = tether::Observer::builder().config(config).storage(tether::open_sqlite_storage({path})).build();
        auto& rec = observer->recorder();
        const tether::Micros recent = now - 120'000'000;
        auto push = [&](int n, const std::string& client, const std::vector<TestMutation>& ms, std::string response,
                        tether::Micros at) {
            tether::Exchange ex;
            ex.kind = tether::ExchangeKind::push;
            ex.id = id(n);
            ex.client_version = "2.4.1";
            ex.started_at_us = at;
            ex.duration_us = 1000 + n * 100;
            ex.request_body = tether::test::push_request(client, ms);
            ex.response_body = std::move(response);
            return ex;
        };
        auto a = mutation(1, "Task"), b = mutation(2, "Task");
        REQUIRE(
            rec.record(push(1, "c-ok", {a, b}, tether::test::push_response({a.mutation_id, b.mutation_id}), recent)));

        auto rejected = mutation(3, "Project"), conflicted = mutation(4, "Note"),
             created = mutation(5, "Task", "create");
        REQUIRE(rec.record(push(
            2, "c-bad", {rejected, conflicted, created},
            tether::test::push_response({created.mutation_id}, {{rejected.mutation_id}}, {{conflicted.mutation_id}}),
            recent + 1000)));

        tether::Exchange pull;
        pull.kind = tether::ExchangeKind::pull;
        pull.id = id(3);
        pull.started_at_us = recent + 2000;
        pull.duration_us = 700;
        pull.request_body = tether::test::pull_request("c-ok", std::nullopt);
        pull.response_body = tether::test::pull_response({"Task", "Task", "Note"}, 1732500000123456, false);
        REQUIRE(rec.record(std::move(pull)));

        auto lone = mutation(6, "Note");
        REQUIRE(rec.record(
            push(4, "c-conf", {lone}, tether::test::push_response({}, {}, {{lone.mutation_id}}), recent + 3000)));

        auto boom = push(5, "c-bad", {mutation(7, "Task")}, R"({"error":"boom"})", recent + 4000);
        boom.http_status = 500;
        REQUIRE(rec.record(std::move(boom)));

        auto eu =
            push(9, "c-eu", {mutation(9, "Task")}, tether::test::push_response({test_ulid(9, 'M')}), recent + 5000);
        eu.instance = "eu-1";
        REQUIRE(rec.record(std::move(eu)));

        for (int n = 6; n <= 8; ++n) {
            auto m = mutation(n * 10, "Task");
            REQUIRE(
                rec.record(push(n, "c-old", {m}, tether::test::push_response({m.mutation_id}), now - 10 * day_us + n)));
        }
        REQUIRE(rec.flush(30s));
        REQUIRE(rec.stats().written == 9);
    }

    std::shared_ptr<tether::Storage> storage() const { return tether::open_sqlite_storage({path}); }
};

std::vector<tether::RequestRecord> all_requests(tether::Storage& s, const tether::RequestFilter& f = {}) {
    std::vector<tether::RequestRecord> out;
    tether::PageRequest page;
    page.limit = 500;
    do {
        auto p = s.list_requests(f, page);
        out.insert(out.end(), p.items.begin(), p.items.end());
        page.cursor = p.next_cursor;
    } while (!page.cursor.empty());
    return out;
}

std::vector<std::string> item_ids(const json::value& page) {
    std::vector<std::string> ids;
    for (const auto& item : page.at("items").as_array()) ids.emplace_back(item.at("id").as_string());
    return ids;
}

}  // namespace

TEST_CASE("tether stats: the metrics document equals what the storage holds", "[cli]") {
    CliDb db;
    auto run = tether_cli({"stats", "--db", db.path, "--json"});
    INFO(run.what);
    REQUIRE(run.status == 0);
    const json::value doc = parse(run.out);
    const auto from = tether::parse_iso8601(std::string(doc.at("from").as_string()));
    const auto to = tether::parse_iso8601(std::string(doc.at("to").as_string()));
    REQUIRE(from);
    REQUIRE(to);
    tether::RequestFilter in_window;
    in_window.from_us = from;
    in_window.to_us = to;
    auto storage = db.storage();
    const auto requests = all_requests(*storage, in_window);
    std::uint64_t pushes = 0, pulls = 0, mutations = 0, snapshots = 0, applied = 0, rejected = 0, conflicts = 0,
                  failed = 0, conflicted = 0;
    for (const auto& r : requests) {
        (r.kind == tether::ExchangeKind::push ? pushes : pulls) += 1;
        mutations += r.mutation_count;
        snapshots += r.snapshots;
        applied += r.applied;
        rejected += r.rejected;
        conflicts += r.conflicts;
        failed += r.failed();
        conflicted += r.conflicts > 0;
    }
    CHECK(requests.size() == 6);
    CHECK(u64(doc, "/throughput/requests") == requests.size());
    CHECK(u64(doc, "/throughput/pushes") == pushes);
    CHECK(u64(doc, "/throughput/pulls") == pulls);
    CHECK(u64(doc, "/throughput/mutations") == mutations);
    CHECK(u64(doc, "/throughput/snapshots") == snapshots);
    CHECK(u64(doc, "/throughput/applied") == applied);
    CHECK(u64(doc, "/throughput/rejected") == rejected);
    CHECK(u64(doc, "/throughput/conflicts") == conflicts);
    CHECK(u64(doc, "/failed_requests") == failed);
    CHECK(u64(doc, "/conflict_requests") == conflicted);
    CHECK(doc.at("window").as_string() == "24h");
    CHECK(doc.at("health").as_array().size() == 288);
    CHECK(doc.at("instances").as_array().size() == 2);

    // The table says the same.
    auto table = tether_cli({"stats", "--db", db.path});
    REQUIRE(table.status == 0);
    INFO(table.out);
    CHECK(contains(table.out, "Metrics for the last 24h"));
    CHECK(contains(table.out, "\nrequests  "));
    CHECK(contains(table.out, " 6  pushes 5, pulls 1\n"));
    CHECK(contains(table.out, "Top models"));
    CHECK(contains(table.out, "c-bad"));

    // --window and --instance, as the API: the eu-1 instance has one request.
    auto eu = tether_cli({"--db", db.path, "stats", "--window", "1h", "--instance", "eu-1", "--json"});
    REQUIRE(eu.status == 0);
    const json::value eu_doc = parse(eu.out);
    CHECK(eu_doc.at("window").as_string() == "1h");
    CHECK(eu_doc.at("instance").as_string() == "eu-1");
    CHECK(u64(eu_doc, "/throughput/requests") == 1);
    CHECK(eu_doc.at("health").as_array().size() == 12);
}

TEST_CASE("tether requests: filters and keyset pages as the API", "[cli]") {
    CliDb db;
    auto storage = db.storage();
    auto ids_for = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"requests", "--db", db.path, "--json", "--limit", "500"});
        auto run = tether_cli(args);
        INFO(run.what);
        REQUIRE(run.status == 0);
        const auto page = parse(run.out);
        CHECK(page.at("next_cursor").is_null());
        return item_ids(page);
    };
    auto expected = [&](const tether::RequestFilter& f) {
        std::vector<std::string> ids;
        for (const auto& r : all_requests(*storage, f)) ids.push_back(r.id);
        return ids;
    };

    CHECK(ids_for({}).size() == 9);
    CHECK(ids_for({}) == expected({}));
    CHECK(ids_for({"--kind", "pull"}) == std::vector<std::string>{CliDb::id(3)});
    CHECK(ids_for({"--client", "c-bad"}) == std::vector<std::string>{CliDb::id(5), CliDb::id(2)});
    CHECK(ids_for({"--failed"}) == std::vector<std::string>{CliDb::id(5), CliDb::id(2)});
    CHECK(ids_for({"--outcome", "failed"}) == ids_for({"--failed"}));
    CHECK(ids_for({"--outcome", "conflict"}) == std::vector<std::string>{CliDb::id(4)});
    CHECK(ids_for({"--outcome=error"}) == std::vector<std::string>{CliDb::id(5)});
    CHECK(ids_for({"--model", "Project"}) == std::vector<std::string>{CliDb::id(2)});
    CHECK(ids_for({"--instance", "eu-1"}) == std::vector<std::string>{CliDb::id(9)});
    const std::string cutoff = tether::format_iso8601(db.now - day_us);
    CHECK(ids_for({"--to", cutoff}).size() == 3);
    CHECK(ids_for({"--from", cutoff}).size() == 6);
    CHECK(ids_for({"--from", std::to_string(db.now - day_us), "--kind", "push"}).size() == 5);

    // Pages: --limit 4 walks all nine with the printed cursors, in the storage's order.
    std::vector<std::string> walked;
    std::string cursor;
    int pages = 0;
    do {
        std::vector<std::string> args = {"requests", "--db", db.path, "--limit", "4"};
        if (!cursor.empty()) args.insert(args.end(), {"--cursor", cursor});
        auto run = tether_cli(args);
        INFO(run.what);
        REQUIRE(run.status == 0);
        std::istringstream lines(run.out);
        std::string line;
        std::getline(lines, line);
        CHECK(contains(line, "STARTED"));
        cursor.clear();
        while (std::getline(lines, line)) {
            if (line.rfind("next cursor: ", 0) == 0)
                cursor = line.substr(13);
            else if (line != "(last page)")
                walked.push_back(line.substr(line.find("  ") + 2, 26));
        }
        ++pages;
    } while (!cursor.empty() && pages < 10);
    CHECK(pages == 3);
    CHECK(walked == expected({}));
}

TEST_CASE("tether show: a request with its mutations as table and JSON, unknown ids exit 1", "[cli]") {
    CliDb db;
    auto run = tether_cli({"show", "--db", db.path, CliDb::id(2)});
    INFO(run.what);
    REQUIRE(run.status == 0);
    CHECK(contains(run.out, "Request " + CliDb::id(2)));
    CHECK(contains(run.out, "rejected (HTTP 200)"));
    CHECK(contains(run.out, "Mutations (3 stored)"));
    CHECK(contains(run.out, test_ulid(3, 'M')));
    CHECK(contains(run.out, "validation_failed"));
    CHECK(contains(run.out, "title: The title field is required."));
    CHECK(contains(run.out, "conflict"));

    auto json_run = tether_cli({"show", "--db", db.path, CliDb::id(2), "--json"});
    REQUIRE(json_run.status == 0);
    const json::value doc = parse(json_run.out);
    CHECK(doc.at("id").as_string() == CliDb::id(2));
    CHECK(doc.at("outcome").as_string() == "rejected");
    CHECK(doc.at("request_body").is_string());
    CHECK(doc.at("mutations").as_int64() == 3);  // the count, as the API has it; the rows have their own key
    CHECK(json_run.out.find("\"mutations\":", json_run.out.find("\"mutations\":") + 1) == std::string::npos);
    const auto& mutations = doc.at("mutation_details").as_array();
    REQUIRE(mutations.size() == 3);
    CHECK(mutations[0].at("mutation_id").as_string() == test_ulid(3, 'M'));
    CHECK(mutations[0].at("outcome").as_string() == "rejected");
    CHECK(mutations[0].at("validation").at("title").is_array());
    CHECK(mutations[1].at("outcome").as_string() == "conflict");
    CHECK(mutations[1].at("conflict").is_object());
    CHECK(mutations[2].at("operation").as_string() == "create");

    auto bodies = tether_cli({"show", "--db", db.path, CliDb::id(1), "--bodies"});
    REQUIRE(bodies.status == 0);
    CHECK(contains(bodies.out, "Request body\n{\"client_id\":\"c-ok\""));

    auto missing = tether_cli({"show", "--db", db.path, "01JD3Z6Q8Y9V4K2M1N0P7R5S3Z"});
    CHECK(missing.status == 1);
    CHECK(missing.out.empty());
    CHECK(missing.err == "tether: show: no request with id '01JD3Z6Q8Y9V4K2M1N0P7R5S3Z'\n");
}

TEST_CASE("tether conflicts and failures: the stores' lists", "[cli]") {
    CliDb db;
    auto storage = db.storage();
    auto run = tether_cli({"conflicts", "--db", db.path, "--json"});
    INFO(run.what);
    REQUIRE(run.status == 0);
    const auto page = parse(run.out);
    CHECK(page.at("items").as_array().size() == 2);
    CHECK(page.at("items").at(0).at("request_id").as_string() == CliDb::id(4));
    auto by_model = tether_cli({"conflicts", "--db", db.path, "--json", "--client", "c-bad"});
    REQUIRE(by_model.status == 0);
    CHECK(parse(by_model.out).at("items").as_array().size() == 1);
    auto table = tether_cli({"conflicts", "--db", db.path, "--resolution", "server_wins"});
    REQUIRE(table.status == 0);
    CHECK(contains(table.out, "No conflicts match."));  // response-only conflicts have no resolution
    auto all = tether_cli({"conflicts", "--db", db.path});
    REQUIRE(all.status == 0);
    CHECK(contains(all.out, test_ulid(4, 'E')));
    CHECK(contains(all.out, "(last page)"));

    auto groups = tether_cli({"failures", "--db", db.path, "--json"});
    INFO(groups.what);
    REQUIRE(groups.status == 0);
    const auto doc = parse(groups.out);
    std::set<std::string> reasons;
    std::uint64_t total = 0;
    for (const auto& g : doc.at("items").as_array()) {
        reasons.insert(std::string(g.at("reason").as_string()));
        total += json::value_to<std::uint64_t>(g.at("count"));
    }
    CHECK(reasons == std::set<std::string>{"validation_failed", "http_500"});
    CHECK(total == 2);
    auto group_table = tether_cli({"failures", "--db", db.path, "--model", "Project"});
    REQUIRE(group_table.status == 0);
    CHECK(contains(group_table.out, "validation_failed"));
    CHECK_FALSE(contains(group_table.out, "http_500"));
}

TEST_CASE("tether export: every request with its mutations, one JSON per line", "[cli]") {
    CliDb db;
    auto storage = db.storage();
    auto run = tether_cli({"export", "--db", db.path, "--format", "ndjson"});
    INFO(run.what);
    REQUIRE(run.status == 0);
    std::istringstream lines(run.out);
    std::string line;
    std::vector<std::string> ids;
    while (std::getline(lines, line)) {
        const json::value doc = parse(line);
        ids.emplace_back(doc.at("id").as_string());
        const auto stored = storage->get_request(ids.back());
        REQUIRE(stored);
        CHECK(doc.at("mutation_details").as_array().size() == stored->mutation_count);
        CHECK(doc.at("request_body").as_string() == stored->request_body);
    }
    CHECK(ids.size() == storage->count_requests());
    std::vector<std::string> expected;
    for (const auto& r : all_requests(*storage)) expected.push_back(r.id);
    CHECK(ids == expected);

    // --out FILE and filters.
    const std::string out = db.dir.file("pushes.ndjson");
    auto to_file = tether_cli({"export", "--db", db.path, "--format=ndjson", "--kind", "push", "--out", out});
    REQUIRE(to_file.status == 0);
    CHECK(to_file.out.empty());
    CHECK(contains(to_file.err, "8 requests written to"));
    const std::string text = slurp(out);
    CHECK(std::count(text.begin(), text.end(), '\n') == 8);
    CHECK_FALSE(std::filesystem::exists(out + ".partial"));

    // --out naming the database itself (or its WAL) is refused before anything is written;
    // the database still answers afterwards. "-" is standard output.
    const auto before = storage->count_requests();
    for (const std::string& self : {db.path, db.path + "-wal"}) {
        if (!std::filesystem::exists(self)) continue;
        auto onto_db = tether_cli({"export", "--db", db.path, "--format", "ndjson", "--out", self});
        CHECK(onto_db.status == 2);
        CHECK(contains(onto_db.err, "a file other than the database"));
    }
    CHECK(tether_cli({"stats", "--db", db.path}).status == 0);
    CHECK(storage->count_requests() == before);
    auto dash = tether_cli({"export", "--db", db.path, "--format", "ndjson", "--kind", "push", "--out", "-"});
    CHECK(dash.status == 0);
    CHECK(std::count(dash.out.begin(), dash.out.end(), '\n') == 8);
    CHECK_FALSE(std::filesystem::exists("-"));

    auto bad_format = tether_cli({"export", "--db", db.path, "--format", "csv"});
    CHECK(bad_format.status == 2);
    CHECK(contains(bad_format.err, "--format: got 'csv'; expected ndjson"));
    auto no_format = tether_cli({"export", "--db", db.path});
    CHECK(no_format.status == 2);
    CHECK(contains(no_format.err, "--format is required"));
}

TEST_CASE("tether prune: --dry-run counts and deletes nothing, prune deletes exactly that many", "[cli]") {
    CliDb db;
    const auto before = db.storage()->count_requests();
    REQUIRE(before == 9);
    auto dry = tether_cli({"prune", "--db", db.path, "--older-than", "7d", "--dry-run"});
    INFO(dry.what);
    REQUIRE(dry.status == 0);
    CHECK(dry.out.rfind("would delete 3 requests ", 0) == 0);
    CHECK(db.storage()->count_requests() == before);

    auto real = tether_cli({"prune", "--db", db.path, "--older-than", "7d"});
    INFO(real.what);
    REQUIRE(real.status == 0);
    CHECK(real.out.rfind("deleted 3 requests ", 0) == 0);
    auto storage = db.storage();
    CHECK(storage->count_requests() == before - 3);
    for (int n = 6; n <= 8; ++n) CHECK_FALSE(storage->get_request(CliDb::id(n)));
    CHECK(storage->get_request(CliDb::id(1)));

    auto again = tether_cli({"prune", "--db", db.path, "--older-than", "30m", "--dry-run"});
    REQUIRE(again.status == 0);
    CHECK(again.out.rfind("would delete 0 requests ", 0) == 0);
}

TEST_CASE("tether diff: the patch turns A into B, --fields lists the changes, - reads stdin", "[cli]") {
    TempDir dir;
    const std::string a_text = R"({"title":"Buy milk","done":false,"tags":["a","b"],"meta":{"n":1,"x/y":2}})";
    const std::string b_text =
        R"({"title":"Buy oat milk","tags":["a"],"meta":{"n":1.5,"x/y":2,"new":null},"due":"mon"})";
    const std::string a = dir.file("a.json"), b = dir.file("b.json");
    write_file(a, a_text);
    write_file(b, b_text);

    auto run = tether_cli({"diff", a, b});
    INFO(run.what);
    REQUIRE(run.status == 0);
    const json::value patched = tether::test::apply_patch(json::parse(a_text), run.out);
    CHECK(patched == json::parse(b_text));

    auto fields = tether_cli({"diff", "--fields", "--json", a, b});
    REQUIRE(fields.status == 0);
    CHECK(parse(fields.out) == json::parse(tether::field_changes_to_json(tether::diff_json(a_text, b_text))));
    auto table = tether_cli({"diff", a, b, "--fields"});
    REQUIRE(table.status == 0);
    CHECK(contains(table.out, "changed  /title"));
    CHECK(contains(table.out, "removed  /done"));
    CHECK(contains(table.out, "/meta/x~1y") == false);  // unchanged
    CHECK(contains(table.out, "added    /meta/new"));

    auto from_stdin = tether_cli({"diff", a, "-"}, b);
    INFO(from_stdin.what);
    REQUIRE(from_stdin.status == 0);
    CHECK(from_stdin.out == run.out);
    auto same = tether_cli({"diff", "-", a}, a);
    REQUIRE(same.status == 0);
    CHECK(same.out == "[]\n");

    write_file(dir.file("bad.json"), "{\"a\": [1,\n  2,,3]}");
    auto bad = tether_cli({"diff", a, dir.file("bad.json")});
    CHECK(bad.status == 3);
    CHECK(bad.out.empty());
    CHECK(bad.err.rfind("tether: diff: " + dir.file("bad.json") + ": invalid JSON at line 2, column 5 (byte 14): ",
                        0) == 0);
    auto bad_stdin = tether_cli({"diff", "-", a}, dir.file("bad.json"));
    CHECK(bad_stdin.status == 3);
    CHECK(contains(bad_stdin.err, "stdin: invalid JSON at line 2, column 5"));
    auto missing = tether_cli({"diff", a, dir.file("nope.json")});
    CHECK(missing.status == 3);
    CHECK(contains(missing.err, "cannot read '" + dir.file("nope.json") + "': No such file or directory"));
    auto one = tether_cli({"diff", a});
    CHECK(one.status == 2);
    auto both_stdin = tether_cli({"diff", "-", "-"});
    CHECK(both_stdin.status == 2);
    auto with_db = tether_cli({"diff", "--db", "x.db", a, b});
    CHECK(with_db.status == 2);
    CHECK(contains(with_db.err, "unknown option '--db'"));
}

TEST_CASE("tether replay-preview: a dry run against a state file, a state source is required", "[cli]") {
    CliDb db;
    // Request 2 pushed: Project update (no record -> not_found), Note update older than the
    // record's updated_at (conflict), Task create of an absent entity (apply).
    const std::string state = db.dir.file("state.json");
    write_file(state, R"({"Note": {")" + test_ulid(4, 'E') +
                          R"(": {"body": "server", "title": "Server title", "updated_at": "2026-01-01T00:00:00Z"}},
                          "Task": {"gone": null}, "Project": {}})");
    auto run = tether_cli({"replay-preview", "--db", db.path, CliDb::id(2), "--state", state, "--json"});
    INFO(run.what);
    REQUIRE(run.status == 0);
    const json::value doc = parse(run.out);
    CHECK(u64(doc, "/total") == 3);
    CHECK(u64(doc, "/predicted_counts/apply") == 1);
    CHECK(u64(doc, "/predicted_counts/conflict") == 1);
    CHECK(u64(doc, "/predicted_counts/not_found") == 1);
    const auto& items = doc.at("items").as_array();
    REQUIRE(items.size() == 3);
    CHECK(items[0].at("predicted").as_string() == "not_found");
    CHECK(items[1].at("predicted").as_string() == "conflict");
    CHECK(items[1].at("current_state").at("body").as_string() == "server");
    CHECK(items[2].at("predicted").as_string() == "apply");

    auto table = tether_cli({"replay-preview", "--db", db.path, CliDb::id(2), "--state", state});
    REQUIRE(table.status == 0);
    CHECK(contains(table.out, "predicted: apply 1, conflict 1, not_found 1, duplicate 0"));
    CHECK(contains(table.out, "updated 2026-01-01T00:00:00Z"));

    // Numeric updated_at in milliseconds reads the same instant.
    write_file(state, R"({"Note": {")" + test_ulid(4, 'E') + R"(": {"body": "server", "updated_at": 1767225600000}}})");
    auto millis = tether_cli({"replay-preview", "--db", db.path, CliDb::id(2), "--state", state, "--json"});
    REQUIRE(millis.status == 0);
    CHECK(parse(millis.out).at("items").at(1).at("updated_at").as_string() == "2026-01-01T00:00:00.000000Z");

    auto stateless = tether_cli({"replay-preview", "--db", db.path, CliDb::id(2)});
    CHECK(stateless.status == 2);
    CHECK(contains(stateless.err, "tether: replay-preview: a state source is required"));
    CHECK(contains(stateless.err, "--state FILE.json"));

    write_file(state, R"({"Note": [1, 2]})");
    auto wrong_shape = tether_cli({"replay-preview", "--db", db.path, CliDb::id(2), "--state", state});
    CHECK(wrong_shape.status == 3);
    CHECK(contains(wrong_shape.err, "/Note: expected an object of entity id -> record, got an array"));
    write_file(state, "{\"Note\": {\n\"x\": }");
    auto bad_json = tether_cli({"replay-preview", "--db", db.path, CliDb::id(2), "--state", state});
    CHECK(bad_json.status == 3);
    CHECK(contains(bad_json.err, "invalid JSON at line 2, column 6"));

    write_file(state, "{}");
    auto pull = tether_cli({"replay-preview", "--db", db.path, CliDb::id(3), "--state", state});
    CHECK(pull.status == 3);
    CHECK(contains(pull.err, "it is a pull; only captured pushes can be replayed"));
    auto not_found =
        tether_cli({"replay-preview", "--db", db.path, "01JD3Z6Q8Y9V4K2M1N0P7R5S3Z", "--state", "-"}, state);
    CHECK(not_found.status == 1);
    CHECK(contains(not_found.err, "no captured request has id 01JD3Z6Q8Y9V4K2M1N0P7R5S3Z"));
    // Nothing was written: the preview opened the database read-only.
    CHECK(db.storage()->count_requests() == 9);
}

TEST_CASE("tether: bad command lines exit 2 naming the problem, a missing database exits 3", "[cli]") {
    CliDb db;
    struct Case {
        std::vector<std::string> args;
        int status;
        std::string message;
    };
    const std::string missing_db = db.dir.file("missing.db");
    const std::vector<Case> cases = {
        {{"stats", "--db", missing_db}, 3, "tether: stats: cannot open database '" + missing_db + "': No such file"},
        {{"frobnicate"}, 2, "tether: unknown subcommand 'frobnicate'"},
        {{"stat", "--db", db.path}, 2, "did you mean 'stats'?"},
        {{}, 2, "no subcommand given"},
        {{"--bogus", "stats"}, 2, "unknown option '--bogus' before the subcommand"},
        {{"stats", "--db", db.path, "--bogus"}, 2, "tether: stats: unknown option '--bogus'"},
        {{"requests", "--db", db.path, "--limt", "3"}, 2, "unknown option '--limt'; did you mean --limit?"},
        {{"requests", "--db", db.path, "--limit"}, 2, "tether: requests: --limit needs a value"},
        {{"requests", "--db", db.path, "--client", "--json"}, 2, "--client needs a value"},
        {{"requests", "--db", db.path, "--limit", "501"},
         2,
         "--limit: got '501'; expected a whole number from 1 to 500"},
        {{"requests", "--db", db.path, "--kind", "both"}, 2, "--kind: got 'both'; expected one of push, pull"},
        {{"requests", "--db", db.path, "--from", "yesterday"}, 2, "--from: got 'yesterday'; expected an ISO-8601"},
        {{"requests", "--db", db.path, "--from", "2026-11-24T10:00:00Z", "--to", "2026-11-24T09:00:00Z"},
         2,
         "--to: got '2026-11-24T09:00:00Z'; expected a time not earlier than --from"},
        {{"requests", "--db", db.path, "--cursor", "garbage"}, 2, "tether: requests: --cursor:"},
        {{"requests", "--db", db.path, "--json", "--json"}, 2, "--json is given more than once"},
        {{"requests", "--db", db.path, "--json=yes"}, 2, "--json takes no value"},
        {{"requests", "--db", db.path, "--failed", "--outcome", "ok"}, 2, "exclude each other"},
        {{"requests", "--db", db.path, "surplus"}, 2, "unexpected argument 'surplus'"},
        {{"stats", "--db", db.path, "--window", "2h"}, 2, "--window: got '2h'; expected one of 1h, 6h, 24h, 7d"},
        {{"stats"}, 2, "--db is required"},
        {{"--db", db.path, "stats", "--db", db.path}, 2, "--db is given more than once"},
        {{"prune", "--db", db.path, "--older-than", "7x"},
         2,
         "--older-than: got '7x'; expected a positive whole number and a unit"},
        {{"prune", "--db", db.path, "--older-than", "0d"}, 2, "--older-than: got '0d'"},
        {{"prune", "--db", db.path, "--older-than", "-3d"}, 2, "--older-than: got '-3d'"},
        {{"prune", "--db", db.path}, 2, "--older-than is required"},
        {{"show", "--db", db.path}, 2, "REQUEST_ID is required"},
        {{"show", "--db", db.path, "01JD3Z6Q8Y9V4K2M1N0P7R5S3Z"}, 1, "no request with id"},
        {{"stats", "--db", "mysql://localhost/none"}, 2, "--db: got 'mysql://localhost/none'"},
        // PostgreSQL when built in, or a clear "not built into this program": never a crash.
        {{"stats", "--db", "postgresql://127.0.0.1:1/none"}, -1, "postgres"},
        {{"stats", "--db", db.dir.path().string()}, 3, "it is a directory"},
        {{"stats", "--db", db.path, "--config", db.dir.file("none.json")}, 3, "--config: cannot read"},
        {{"help", "nothing"}, 2, "help: unknown subcommand 'nothing'"},
    };
    for (const auto& c : cases) {
        auto run = tether_cli(c.args);
        INFO(run.what);
        if (c.status < 0)  // 2 (backend not built in) or 3 (cannot connect), as the build has it
            CHECK((run.status == 2 || run.status == 3));
        else
            CHECK(run.status == c.status);
        CHECK(contains(run.err, c.message));
        CHECK(run.out.empty());
        CHECK(run.err.rfind("tether: ", 0) == 0);
    }
    CHECK_FALSE(fs::exists(missing_db));  // never created by a typo

    // A file that is not a tether database is refused and left alone.
    const std::string other = db.dir.file("other.json");
    write_file(other, "{\"not\": \"a database\"}");
    auto not_db = tether_cli({"requests", "--db", other});
    CHECK(not_db.status == 3);
    CHECK(contains(not_db.err, "cannot open database '" + other + "'"));
    CHECK(slurp(other) == "{\"not\": \"a database\"}");
}

TEST_CASE("tether --help, help SUBCOMMAND, --version", "[cli]") {
    auto overview = tether_cli({"--help"});
    REQUIRE(overview.status == 0);
    CHECK(overview.err.empty());
    for (const char* name :
         {"stats", "requests", "show", "conflicts", "failures", "prune", "export", "replay-preview", "diff"})
        CHECK(contains(overview.out, std::string("\n  ") + name + " "));
    CHECK(contains(overview.out, "Exit status:"));
    CHECK(contains(overview.out, "  3  input error"));

    for (const char* name :
         {"stats", "requests", "show", "conflicts", "failures", "prune", "export", "replay-preview", "diff"}) {
        auto help = tether_cli({"help", name});
        auto flag = tether_cli({name, "--help"});
        auto short_flag = tether_cli({name, "-h", "--bogus"});  // help wins over a bad command line
        INFO(name);
        REQUIRE(help.status == 0);
        CHECK(flag.status == 0);
        CHECK(short_flag.status == 0);
        CHECK(help.out == flag.out);
        CHECK(help.out == short_flag.out);
        CHECK(help.out.rfind(std::string("Usage: tether ") + name, 0) == 0);
        CHECK(contains(help.out, "Options:"));
        CHECK(contains(help.out, "Exit status:"));
        CHECK(contains(help.out, "--help"));
    }
    auto prune_help = tether_cli({"help", "prune"});
    CHECK(contains(prune_help.out, "--older-than DURATION"));
    CHECK(contains(prune_help.out, "--dry-run"));

    auto version = tether_cli({"--version"});
    REQUIRE(version.status == 0);
    CHECK(version.out.rfind("tether 0.", 0) == 0);
    CHECK(contains(version.out, "sqlite"));
}

TEST_CASE("tether diff on every JSONTestSuite parsing file: never crashes, n_ exits 3, y_ exits 0",
          "[cli][json-test-suite]") {
    const fs::path suite = fs::path(TETHER_SHARED_DIR) / "testdata/json-test-suite/test_parsing";
    if (!fs::is_directory(suite)) {
        WARN("skipped: " << suite.string() << " not found (../shared/testdata is not checked out)");
        return;
    }
    std::size_t files = 0, rejected = 0;
    for (const auto& entry : fs::directory_iterator(suite)) {
        if (entry.path().extension() != ".json") continue;
        ++files;
        const std::string file = entry.path().string();
        const char kind = entry.path().filename().string()[0];
        auto run = tether_cli({"diff", file, file});
        INFO(run.what);
        CHECK((run.status == 0 || run.status == 3));
        if (kind == 'y') {
            CHECK(run.status == 0);
            CHECK(run.out == "[]\n");
        } else if (kind == 'n') {
            CHECK(run.status == 3);
            CHECK(contains(run.err, ": invalid JSON at line "));
        }
        if (run.status == 3) {
            ++rejected;
            CHECK(run.out.empty());
            CHECK(run.err.rfind("tether: diff: " + file + ": invalid JSON at line ", 0) == 0);
        }
        // The other direction of a valid document against {} yields a patch that parses.
        if (kind == 'y') {
            auto against =
                tether_cli({"diff", "-", file}, entry.path().parent_path().string() + "/y_object_empty.json");
            CHECK(against.status == 0);
            std::error_code ec;
            const auto patch = json::parse(against.out, ec);
            CHECK_FALSE(ec);
            CHECK(patch.is_array());
        }
    }
    CHECK(files > 300);
    CHECK(rejected >= 188);
}

#endif  // TETHER_CLI && TETHER_HAVE_SQLITE
