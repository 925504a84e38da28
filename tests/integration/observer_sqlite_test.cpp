// End to end: Observer -> Recorder -> Pipeline -> SqliteStorage on a real file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "support/protocol.hpp"
#include "support/temp_dir.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::unique_ptr<Observer> open_observer(const std::string& path, Config config = {}) {
    return Observer::builder().config(std::move(config)).storage(open_sqlite_storage({path})).build();
}

test::TestMutation make_mutation(std::uint64_t n, std::string model, std::string payload) {
    test::TestMutation m;
    m.mutation_id = test::test_ulid(n, 'M');
    m.entity_id = test::test_ulid(n, 'E');
    m.model = std::move(model);
    m.payload_json = std::move(payload);
    return m;
}

}  // namespace

TEST_CASE("sqlite e2e: a realistic mix is stored, filtered and paged", "[e2e]") {
    test::TempDir dir;
    auto obs = open_observer(dir.file("t.db"));
    auto& rec = obs->recorder();
    auto a = make_mutation(1, "Task", R"({"title":"A"})"), b = make_mutation(2, "Project", R"({"name":""})"), c = make_mutation(3, "Note", R"({"body":"x"})");
    Exchange ok;
    ok.kind = ExchangeKind::push;
    ok.client_id = "c-ok";
    ok.request_body = test::push_request("c-ok", {a});
    ok.response_body = test::push_response({a.mutation_id});
    rec.record(std::move(ok));

    Exchange mixed;
    mixed.kind = ExchangeKind::push;
    mixed.request_body = test::push_request("c-bad", {b, c});
    mixed.response_body = test::push_response({}, {{b.mutation_id}}, {{c.mutation_id}});
    rec.record(std::move(mixed));

    Exchange broken;
    broken.kind = ExchangeKind::push;
    broken.http_status = 400;
    broken.request_body = "{\"client_id\": \"c-bad\", \"mutations\": [";
    broken.response_body = R"({"error":"invalid_json","message":"Malformed body"})";
    rec.record(std::move(broken));

    Exchange pull;
    pull.kind = ExchangeKind::pull;
    pull.request_body = test::pull_request("c-ok", 17);
    pull.response_body = test::pull_response({"Task", "Task"}, 42, false);
    rec.record(std::move(pull));
    REQUIRE(rec.flush(10s));

    auto& st = obs->storage();
    CHECK(st.count_requests() == 4);
    CHECK(st.count_mutations() == 3);
    auto all = st.list_requests({}, {});
    REQUIRE(all.items.size() == 4);

    RequestFilter failed;
    failed.failed_only = true;
    CHECK(st.list_requests(failed, {}).items.size() == 2);
    RequestFilter by_model;
    by_model.model = "Task";
    CHECK(st.list_requests(by_model, {}).items.size() == 2);  // the push of Task and the pull with Task snapshots
    RequestFilter pulls;
    pulls.kind = ExchangeKind::pull;
    auto p = st.list_requests(pulls, {});
    REQUIRE(p.items.size() == 1);
    CHECK(p.items[0].snapshots == 2);
    CHECK(p.items[0].new_sync_cursor == 42);

    RequestFilter bad_client;
    bad_client.client_id = "c-bad";
    auto bad = st.list_requests(bad_client, {});
    REQUIRE(bad.items.size() == 2);
    auto broken_rec = st.get_request(bad.items[0].started_at_us >= bad.items[1].started_at_us ? bad.items[0].id : bad.items[1].id);
    REQUIRE(broken_rec);
    auto mixed_id = bad.items[0].id == broken_rec->id ? bad.items[1].id : bad.items[0].id;
    auto muts = st.list_mutations(mixed_id, {}, {});
    REQUIRE(muts.items.size() == 2);
    CHECK(muts.items[0].outcome == MutationOutcome::rejected);
    CHECK(muts.items[0].validation_json.find("title") != std::string::npos);
    CHECK(muts.items[1].outcome == MutationOutcome::conflict);
    auto full = st.get_mutation(muts.items[1].id);
    REQUIRE(full);
    REQUIRE(full->conflict);
    CHECK(full->conflict->server_state_json == R"({"title":"Server title","done":true})");
}

TEST_CASE("sqlite e2e: no redacted secret appears in the database files", "[e2e][redaction]") {
    test::TempDir dir;
    const std::string db = dir.file("secrets.db");
    std::vector<std::string> secrets;
    auto secret = [&](int i) {
        secrets.push_back("Sx" + std::to_string(i) + "-e4b1c9f0a7d2");
        return secrets.back();
    };
    auto check_files = [&] {
        for (const char* suffix : {"", "-wal", "-shm"}) {
            fs::path f = db + suffix;
            if (!fs::exists(f)) continue;
            auto bytes = read_file(f);
            for (const auto& s : secrets) {
                INFO(f.string() << " contains " << s);
                CHECK(bytes.find(s) == std::string::npos);
            }
        }
    };
    {
        Config c;
        c.recorder.max_body_bytes = 4096;
        auto obs = open_observer(db, c);
        for (int i = 0; i < 200; ++i) {
            auto m = make_mutation(static_cast<std::uint64_t>(i), "User",
                        R"({"name":"u","password":")" + secret(i * 10) + R"(","profile":{"API-Key":")" + secret(i * 10 + 1) +
                            R"(","tokens":[{"refresh_token":")" + secret(i * 10 + 2) + R"("}]}})");
            Exchange ex;
            ex.kind = ExchangeKind::push;
            ex.request_body = test::push_request("c" + std::to_string(i % 5), {m});
            ex.response_body = test::push_response({}, {{m.mutation_id, "validation_failed",
                                                         R"({"messages":{"password":["too short"]},"secret":")" +
                                                             secret(i * 10 + 3) + R"("})"}});
            ex.headers = {{"Authorization", "Bearer " + secret(i * 10 + 4)}, {"Cookie", "sid=" + secret(i * 10 + 5)}};
            ex.traces.push_back({m.mutation_id, R"({"password":")" + secret(i * 10 + 6) + R"("})", "null",
                                 ConflictTrace{"lww", Resolution::server_wins,
                                               R"({"password":")" + secret(i * 10 + 7) + R"("})", ""}});
            if (i % 4 == 1) ex.request_body.resize(ex.request_body.size() - 7);  // invalid JSON: textual scrub
            if (i % 4 == 2) ex.request_body = "client_id=c&password=" + secret(i * 10 + 8) + "&x=1";
            if (i % 4 == 3) ex.request_body += std::string(5000, ' ');  // truncated by max_body_bytes
            obs->recorder().record(std::move(ex));
        }
        REQUIRE(obs->recorder().flush(20s));
        CHECK(obs->recorder().stats().written == 200);
        check_files();  // while open: main file and WAL
        auto page = obs->storage().list_requests({}, {});
        auto r = obs->storage().get_request(page.items[0].id);
        REQUIRE(r);
        CHECK_FALSE(r->redacted_paths.empty());
    }
    check_files();  // after close and checkpoint
}

TEST_CASE("sqlite e2e: graceful shutdown with 100 000 queued exchanges loses none", "[e2e][shutdown]") {
    test::TempDir dir;
    const std::string db = dir.file("drain.db");
    Config c;
    c.recorder.queue_max_items = 200'000;
    c.recorder.queue_max_bytes = 1u << 30;
    c.recorder.shutdown_timeout = std::chrono::minutes(5);
    RecorderStats s;
    {
        auto obs = open_observer(db, c);
        auto proto = test::sample_push("c-drain", 1, 1);
        for (int i = 0; i < 100'000; ++i) {
            Exchange ex = proto;
            REQUIRE(obs->recorder().record(std::move(ex)));
        }
        CHECK(obs->recorder().stats().queued > 0);  // most are still queued when we shut down
        CHECK(obs->recorder().shutdown(std::chrono::minutes(5)));
        s = obs->recorder().stats();
    }
    CHECK(s.offered == 100'000);
    CHECK(s.written == 100'000);
    CHECK(s.dropped == 0);
    auto st = open_sqlite_storage({db});
    CHECK(st->count_requests() == 100'000);
    CHECK(st->count_mutations() == 100'000);
}

TEST_CASE("sqlite e2e: every JSONTestSuite parsing file is captured and flagged, as push and as pull",
          "[e2e][json-test-suite]") {
    fs::path suite = fs::path(TETHER_SHARED_DIR) / "testdata/json-test-suite/test_parsing";
    if (!fs::is_directory(suite)) {
        WARN("skipped: " << suite.string() << " not found (../shared/testdata is not checked out)");
        return;
    }
    test::TempDir dir;
    auto obs = open_observer(dir.file("suite.db"));
    struct Expect {
        std::string file;
        char kind;  // y, n, i
        std::size_t size;
    };
    std::map<std::string, Expect> by_id;
    std::uint64_t n = 0;
    for (const auto& entry : fs::directory_iterator(suite)) {
        if (entry.path().extension() != ".json") continue;
        std::string name = entry.path().filename().string();
        std::string body = read_file(entry.path());
        for (auto kind : {ExchangeKind::push, ExchangeKind::pull}) {
            Exchange ex;
            ex.kind = kind;
            ex.id = test::test_ulid(++n, 'R');
            ex.request_body = body;
            ex.response_body = body;
            by_id[ex.id] = {name, name[0], body.size()};
            REQUIRE(obs->recorder().record(std::move(ex)));
        }
    }
    REQUIRE(n > 300);
    REQUIRE(obs->recorder().flush(60s));
    CHECK(obs->recorder().stats().written == n);
    std::size_t rejected_by_parser = 0;
    for (const auto& [id, expect] : by_id) {
        auto r = obs->storage().get_request(id);
        INFO(expect.file);
        REQUIRE(r);
        if (expect.kind == 'y') {
            CHECK_FALSE(r->request_parse_error);
            CHECK_FALSE(r->response_parse_error);
            // Valid JSON that is not a push/pull object is a protocol error, never "ok".
            CHECK(r->outcome == RequestOutcome::error);
        } else if (expect.kind == 'n') {
            REQUIRE(r->request_parse_error);
            CHECK(r->request_parse_error->offset <= expect.size);
            CHECK(r->request_parse_error->line >= 1);
            CHECK_FALSE(r->request_parse_error->message.empty());
            CHECK(r->request_body_scrubbed == (expect.size > 0));
            CHECK(r->outcome == RequestOutcome::error);
        }
        if (r->request_parse_error) ++rejected_by_parser;
        if (expect.size > 0)  // an empty response means "not captured", an empty request is an error
            CHECK(r->request_parse_error.has_value() == r->response_parse_error.has_value());
    }
    CHECK(rejected_by_parser > 0);
}
