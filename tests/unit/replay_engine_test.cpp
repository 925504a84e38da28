// ReplayEngine through the Observer with a fake StateReader and ReplayTarget and a manual
// clock: predictions, pagination and totals, redaction, the gate, confirmation, tokens,
// cloning with fresh ULIDs, the recorded replay and its audit link, replays of replays.
#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/protocol.hpp"
#include "support/temp_dir.hpp"
#include "tether/observer.hpp"
#ifdef TETHER_HAVE_SQLITE
#include <SQLiteCpp/SQLiteCpp.h>

#include "tether/sqlite_storage.hpp"
#endif

using namespace tether;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr Micros T = 1'732'500'000'000'000;  // the captured pushes' time
constexpr std::int64_t T_MS = T / 1000;
constexpr Micros SECOND = 1'000'000;

class FakeState final : public StateReader {
public:
    void put(const std::string& model, const std::string& entity, std::string json, Micros updated_at_us) {
        std::lock_guard<std::mutex> lock(mutex_);
        records_[{model, entity}] = EntityState{std::move(json), updated_at_us};
    }
    void mark_applied(const std::string& mutation_id) {
        std::lock_guard<std::mutex> lock(mutex_);
        applied_.insert(mutation_id);
    }
    std::optional<EntityState> current(std::string_view model, std::string_view entity_id) override {
        ++reads;
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = records_.find({std::string(model), std::string(entity_id)});
        if (it == records_.end()) return std::nullopt;
        return it->second;
    }
    bool was_applied(std::string_view mutation_id) override {
        ++reads;
        std::lock_guard<std::mutex> lock(mutex_);
        return applied_.count(std::string(mutation_id)) > 0;
    }
    std::atomic<std::uint64_t> reads{0};

private:
    std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, EntityState> records_;
    std::set<std::string> applied_;
};

// Applies every mutation it is sent (or throws, when told to).
class FakeTarget final : public ReplayTarget {
public:
    ReplayResponse push(const ReplayPush& p) override {
        ++calls;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            pushes_.push_back(p);
        }
        if (fail) throw std::runtime_error("sync engine unavailable");
        const json::value body = json::parse(p.body);
        json::array applied;
        for (const auto& m : body.at("mutations").as_array()) applied.push_back(m.at("mutation_id"));
        return {200,
                json::serialize(
                    json::object{{"applied", applied}, {"rejected", json::array()}, {"conflicts", json::array()}}),
                {}};
    }
    ReplayPush last() {
        std::lock_guard<std::mutex> lock(mutex_);
        return pushes_.back();
    }
    std::atomic<int> calls{0};
    std::atomic<bool> fail{false};

private:
    std::mutex mutex_;
    std::vector<ReplayPush> pushes_;
};

test::TestMutation mutation(std::uint64_t n, std::string operation, std::int64_t timestamp_ms,
                            std::string payload = R"({"title":"Buy milk","done":false})", std::string model = "Task") {
    test::TestMutation m;
    m.mutation_id = test::test_ulid(n, 'M');
    m.entity_id = test::test_ulid(n, 'E');
    m.model = std::move(model);
    m.operation = std::move(operation);
    m.payload_json = std::move(payload);
    m.version = static_cast<std::int64_t>(n);
    m.timestamp = timestamp_ms;
    return m;
}

struct Rig {
    std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(T);
    std::shared_ptr<FakeState> state = std::make_shared<FakeState>();
    std::shared_ptr<FakeTarget> target = std::make_shared<FakeTarget>();
    std::shared_ptr<Storage> storage;
    std::unique_ptr<Observer> observer;

    explicit Rig(bool live = true, std::shared_ptr<Storage> st = make_memory_storage(), bool services = true)
        : storage(std::move(st)) {
        Config config;
        config.replay.live_enabled = live;
        config.recorder.max_body_bytes = 16u << 20;  // a 10 000-mutation push is a few MB
        auto b = Observer::builder().config(config).clock(clock).storage(storage);
        if (services) b.state_reader(state).replay_target(target);
        observer = b.build();
    }
    ReplayEngine& engine() { return observer->replay(); }

    std::string capture_body(std::string body, ExchangeKind kind = ExchangeKind::push) {
        Exchange ex;
        ex.kind = kind;
        ex.id = observer->ids().next();
        ex.client_version = "2.3.1";
        ex.request_body = std::move(body);
        ex.response_body = R"({"applied":[],"rejected":[],"conflicts":[]})";
        std::string id = ex.id;
        REQUIRE(observer->recorder().record(std::move(ex)));
        REQUIRE(observer->recorder().flush(10s));
        REQUIRE(storage->get_request(id));
        return id;
    }
    std::string capture(const std::vector<test::TestMutation>& ms) {
        return capture_body(test::push_request("c-7f3a", ms));
    }

    std::string token_for(const std::string& id) { return engine().preview(id).token; }
    ReplayResult replay(const std::string& id, bool skip = false) {
        return engine().replay(id, {true, token_for(id), skip, "alice@example.com"});
    }
};

const PreviewItem& item_of(const ReplayPreview& p, const std::string& mutation_id) {
    for (const auto& it : p.items)
        if (it.mutation_id == mutation_id) return it;
    FAIL("no preview item for " << mutation_id);
    throw;
}

// Runs `f`, which must throw E; returns it for further checks.
template <class E, class F>
E thrown(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e;
    }
    FAIL("expected an exception");
    throw;
}

std::vector<std::string> mutation_ids(const json::value& body) {
    std::vector<std::string> out;
    for (const auto& m : body.at("mutations").as_array()) out.emplace_back(m.at("mutation_id").as_string());
    return out;
}

}  // namespace

TEST_CASE("replay preview: every predicted outcome, with its reason, current state and diff", "[replay]") {
    Rig rig;
    auto conflict = mutation(1, "update", T_MS);           // the record was written 5 s later
    auto missing = mutation(2, "update", T_MS);            // no record
    auto duplicate = mutation(3, "update", T_MS + 9'000);  // already applied; newer than the record
    auto create = mutation(4, "create", T_MS);             // no record yet
    auto newer = mutation(5, "update", T_MS + 1);          // record written at T
    auto gone = mutation(6, "delete", T_MS, "{}");         // no record
    auto stale_create = mutation(7, "create", T_MS);       // exists, written later: an update that conflicts
    auto same_time = mutation(8, "update", T_MS);          // written at exactly T: not older
    const std::string id = rig.capture({conflict, missing, duplicate, create, newer, gone, stale_create, same_time});
    rig.state->put("Task", conflict.entity_id, R"({"title":"Server title","done":true,"updated_at":"x"})",
                   T + 5 * SECOND);
    rig.state->put("Task", duplicate.entity_id, R"({"title":"Buy milk","done":false})", T);
    rig.state->mark_applied(duplicate.mutation_id);
    rig.state->put("Task", newer.entity_id, R"({"title":"Old","done":false})", T);
    rig.state->put("Task", stale_create.entity_id, R"({"title":"Buy milk","done":false})", T + SECOND);
    rig.state->put("Task", same_time.entity_id, R"({"title":"Buy milk"})", T);

    auto p = rig.engine().preview(id);
    CHECK(p.request_id == id);
    CHECK(p.total == 8);
    CHECK(p.replayable == 8);
    CHECK(p.not_replayable_reason.empty());
    CHECK(p.predicted_counts.apply == 3);
    CHECK(p.predicted_counts.conflict == 2);
    CHECK(p.predicted_counts.not_found == 2);
    CHECK(p.predicted_counts.duplicate == 1);
    CHECK(p.live_enabled);
    CHECK(p.token.size() >= 32);
    CHECK(p.token_expires_at_us == T + 600 * SECOND);
    CHECK(p.next_cursor.empty());

    const auto& c = item_of(p, conflict.mutation_id);
    CHECK(c.predicted == PredictedOutcome::conflict);
    CHECK_THAT(c.reason, Catch::Contains("2024-11-25T02:00:00.000000Z") &&
                             Catch::Contains("older than the record's updated_at 2024-11-25T02:00:05.000000Z"));
    REQUIRE(c.current);
    CHECK(c.current->updated_at_us == T + 5 * SECOND);
    // Current state -> payload over the fields the payload sends (updated_at is the server's).
    CHECK(c.diff == std::vector<FieldChange>{{"/title", ChangeOp::changed, "\"Server title\"", "\"Buy milk\""},
                                             {"/done", ChangeOp::changed, "true", "false"}});
    CHECK(c.seq == 0);
    CHECK(c.version == 1);
    CHECK(c.client_timestamp_ms == T_MS);
    CHECK(c.payload_json == R"({"title":"Buy milk","done":false})");

    const auto& nf = item_of(p, missing.mutation_id);
    CHECK(nf.predicted == PredictedOutcome::not_found);
    CHECK_THAT(nf.reason, Catch::Contains("does not exist") && Catch::Contains(missing.entity_id));
    CHECK_FALSE(nf.current);
    CHECK(nf.diff.size() == 2);  // every payload field would be added

    const auto& d = item_of(p, duplicate.mutation_id);
    CHECK(d.predicted == PredictedOutcome::duplicate);
    CHECK(d.replay_predicted == PredictedOutcome::apply);  // a live replay sends a fresh id
    CHECK_THAT(d.reason, Catch::Contains("already applied") && Catch::Contains("fresh mutation_id"));
    CHECK(d.diff.empty());

    CHECK(item_of(p, create.mutation_id).predicted == PredictedOutcome::apply);
    CHECK_THAT(item_of(p, create.mutation_id).reason, Catch::Contains("does not exist yet"));
    CHECK(item_of(p, newer.mutation_id).predicted == PredictedOutcome::apply);
    CHECK_THAT(item_of(p, newer.mutation_id).reason, Catch::Contains("is not older than"));
    CHECK(item_of(p, gone.mutation_id).predicted == PredictedOutcome::not_found);
    CHECK(item_of(p, stale_create.mutation_id).predicted == PredictedOutcome::conflict);
    CHECK_THAT(item_of(p, stale_create.mutation_id).reason, Catch::Contains("counts as an update"));
    CHECK(item_of(p, same_time.mutation_id).predicted == PredictedOutcome::apply);

    // The database changes: the next preview predicts from the new state.
    rig.state->put("Task", missing.entity_id, R"({"title":"Created since"})", T - SECOND);
    rig.state->put("Task", conflict.entity_id, R"({"title":"Server title"})", T - SECOND);
    auto again = rig.engine().preview(id);
    CHECK(item_of(again, missing.mutation_id).predicted == PredictedOutcome::apply);
    CHECK(item_of(again, conflict.mutation_id).predicted == PredictedOutcome::apply);
    CHECK(again.predicted_counts.not_found == 1);
    CHECK(again.token != p.token);

    // The JSON the dashboard reads.
    auto doc = json::parse(to_json(p)).as_object();
    for (const char* key : {"request_id", "items", "next_cursor", "token", "token_expires_at", "token_expires_at_us",
                            "live_enabled", "total", "replayable", "predicted_counts", "not_replayable_reason"})
        CHECK(doc.contains(key));
    CHECK(doc.at("predicted_counts") == json::parse(R"({"apply":3,"conflict":2,"not_found":2,"duplicate":1})"));
    CHECK(doc.at("next_cursor").is_null());
    const auto& first = doc.at("items").as_array().at(0).as_object();
    for (const char* key : {"mutation_row_id", "seq", "mutation_id", "entity_id", "model", "operation", "predicted",
                            "replay_predicted", "reason", "current_state", "updated_at", "updated_at_us", "diff",
                            "replayable", "not_replayable_reason", "redacted", "payload", "version", "timestamp"})
        CHECK(first.contains(key));
    CHECK(first.at("predicted") == "conflict");
    CHECK(first.at("current_state").at("title") == "Server title");
    CHECK(first.at("updated_at") == "2024-11-25T02:00:05.000000Z");
    CHECK(first.at("diff").as_array().at(0) ==
          json::parse(R"({"path":"/title","op":"changed","from":"Server title","to":"Buy milk"})"));
    CHECK(first.at("payload").at("done") == false);
    CHECK(doc.at("items").as_array().at(1).at("current_state").is_null());

    // Without a client timestamp no conflict can be detected.
    const std::string untimed =
        rig.capture_body(R"({"client_id":"c1","mutations":[{"mutation_id":"01JD3Z6Q8YM00000000000000A","entity_id":")" +
                         newer.entity_id + R"(","model":"Task","operation":"update","payload":{"title":"x"}}]})");
    const auto untimed_preview = rig.engine().preview(untimed);
    const auto& u = untimed_preview.items.at(0);
    CHECK(u.predicted == PredictedOutcome::apply);
    CHECK_FALSE(u.client_timestamp_ms);
    CHECK_THAT(u.reason, Catch::Contains("no client timestamp"));
}

TEST_CASE("replay preview: a 10 000-mutation push pages by keyset with whole-push totals from one pass", "[replay]") {
    Rig rig;
    constexpr std::size_t n = 10'000;
    std::vector<test::TestMutation> ms;
    for (std::size_t i = 0; i < n; ++i) ms.push_back(mutation(i + 1, i % 4 == 3 ? "create" : "update", T_MS));
    const std::string id = rig.capture(ms);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& m = ms[i];
        if (i % 4 == 0) rig.state->put("Task", m.entity_id, "{}", T + SECOND);  // conflict
        if (i % 4 == 2) {                                                       // duplicate
            rig.state->put("Task", m.entity_id, "{}", T);
            rig.state->mark_applied(m.mutation_id);
        }
        // i % 4 == 1: update of a missing entity (not_found); 3: create (apply)
    }

    const std::uint64_t reads_before = rig.state->reads.load();
    PageRequest page;
    page.limit = 500;
    auto first = rig.engine().preview(id, page);
    // One pass: two reads per mutation (record + applied check), the page's items included.
    CHECK(rig.state->reads.load() - reads_before == 2 * n);
    CHECK(first.total == n);
    CHECK(first.replayable == n);
    CHECK(first.predicted_counts.apply == n / 4);
    CHECK(first.predicted_counts.conflict == n / 4);
    CHECK(first.predicted_counts.not_found == n / 4);
    CHECK(first.predicted_counts.duplicate == n / 4);

    std::vector<std::uint32_t> seqs;
    auto p = first;
    for (int pages = 1;; ++pages) {
        REQUIRE(p.items.size() <= 500);
        for (const auto& it : p.items) {
            seqs.push_back(it.seq);
            const auto expected =
                std::array<PredictedOutcome, 4>{PredictedOutcome::conflict, PredictedOutcome::not_found,
                                                PredictedOutcome::duplicate, PredictedOutcome::apply};
            CHECK(it.predicted == expected[it.seq % 4]);
        }
        // Later pages share the first page's token and totals.
        CHECK(p.token == first.token);
        CHECK(p.total == n);
        CHECK(p.predicted_counts.duplicate == n / 4);
        if (p.next_cursor.empty()) {
            CHECK(pages == 20);
            break;
        }
        REQUIRE(p.items.size() == 500);
        page.cursor = p.next_cursor;
        const std::uint64_t before = rig.state->reads.load();
        p = rig.engine().preview(id, page);
        CHECK(rig.state->reads.load() - before == 2 * p.items.size());  // only the page itself
    }
    REQUIRE(seqs.size() == n);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(seqs[i] == i);

    // An expired preview's cursor still pages: a new token, totals computed again.
    PageRequest second{100, first.next_cursor};
    rig.clock->advance(601 * SECOND);
    auto late = rig.engine().preview(id, second);
    CHECK(late.token != first.token);
    CHECK(late.items.front().seq == 500);
    CHECK(late.items.size() == 100);
    CHECK(late.total == n);

    // Bad pages.
    CHECK(thrown<InvalidArgument>([&] { rig.engine().preview(id, {0, {}}); }).parameter() == "limit");
    CHECK(thrown<InvalidArgument>([&] { rig.engine().preview(id, {501, {}}); }).parameter() == "limit");
    CHECK(thrown<InvalidArgument>([&] { rig.engine().preview(id, {10, "garbage"}); }).parameter() == "cursor");
    CHECK(thrown<InvalidArgument>([&] { rig.engine().preview(id, {10, "abc.def"}); }).parameter() == "cursor");
    const std::string other = rig.capture({mutation(99'999, "create", T_MS)});
    CHECK(thrown<InvalidArgument>([&] {
              rig.engine().preview(other, {10, late.next_cursor});
          }).parameter() == "cursor");
}

TEST_CASE("replay: redacted payloads are marked, refused without skip_redacted and skipped with it", "[replay]") {
    Rig rig;
    auto plain = mutation(1, "create", T_MS);
    auto secret = mutation(2, "update", T_MS, R"({"title":"Login","password":"hunter2"})");
    auto later = mutation(3, "create", T_MS);
    const std::string id = rig.capture({plain, secret, later});

    auto p = rig.engine().preview(id);
    CHECK(p.total == 3);
    CHECK(p.replayable == 2);
    const auto& s = item_of(p, secret.mutation_id);
    CHECK(s.redacted);
    CHECK_FALSE(s.replayable);
    CHECK_THAT(s.not_replayable_reason, Catch::Contains("/payload/password") && Catch::Contains("redacted"));
    CHECK(s.payload_json.find("hunter2") == std::string::npos);
    CHECK(item_of(p, plain.mutation_id).replayable);

    // Refused: the token is not spent, nothing is sent.
    auto e = thrown<ReplayUnfaithful>([&] { rig.engine().replay(id, {true, p.token, false, "alice"}); });
    CHECK(e.http_status() == 422);
    CHECK_THAT(e.what(), Catch::Contains(secret.mutation_id) && Catch::Contains("skip_redacted"));
    CHECK(rig.target->calls == 0);

    // Skipped: the others are replayed and the skipped one is listed.
    auto r = rig.engine().replay(id, {true, p.token, true, "alice"});
    CHECK(rig.target->calls == 1);
    REQUIRE(r.skipped.size() == 1);
    CHECK(r.skipped[0].seq == 1);
    CHECK(r.skipped[0].mutation_id == secret.mutation_id);
    CHECK_THAT(r.skipped[0].reason, Catch::Contains("/payload/password"));
    REQUIRE(r.mutation_id_map.size() == 2);
    CHECK(r.mutation_id_map[0].from == plain.mutation_id);
    CHECK(r.mutation_id_map[1].from == later.mutation_id);
    auto sent = json::parse(rig.target->last().body);
    CHECK(sent.at("mutations").as_array().size() == 2);
    CHECK(rig.target->last().body.find("[REDACTED]") == std::string::npos);
    auto stored = rig.storage->get_request(r.replay_request_id);
    REQUIRE(stored);
    REQUIRE(stored->replay_audit);
    CHECK(stored->replay_audit->skipped == r.skipped);

    SECTION("values redacted outside the mutations make the whole push unreplayable") {
        const std::string env = rig.capture_body(
            R"({"client_id":"c1","auth_token":"abc","mutations":[{"mutation_id":"01JD3Z6Q8YM000000000000009","entity_id":"e","model":"Task","operation":"create","payload":{"title":"x"},"timestamp":1}]})");
        auto pe = rig.engine().preview(env);
        CHECK(pe.total == 1);
        CHECK(pe.replayable == 0);
        CHECK_THAT(pe.not_replayable_reason, Catch::Contains("/auth_token"));
        CHECK_FALSE(pe.items.at(0).replayable);
        CHECK(thrown<ReplayNotApplicable>([&] {
                  rig.engine().replay(env, {true, pe.token, true, "a"});
              }).http_status() == 422);
        CHECK(rig.target->calls == 1);
    }
}

TEST_CASE("replay: with the config gate off, live replay is refused and the target never called", "[replay]") {
    Rig rig(/*live=*/false);
    const std::string id = rig.capture({mutation(1, "create", T_MS)});
    auto p = rig.engine().preview(id);  // previews stay available
    CHECK_FALSE(p.live_enabled);
    CHECK_FALSE(p.token.empty());
    auto e = thrown<ReplayDisabled>([&] { rig.engine().replay(id, {true, p.token, false, "alice"}); });
    CHECK(e.http_status() == 403);
    CHECK(std::string(e.code()) == "replay_disabled");
    CHECK_THAT(e.what(), Catch::Contains("replay.live_enabled") && Catch::Contains(id));
    CHECK(json::parse(to_json(e)) == json::parse(std::string(R"({"error":"replay_disabled","message":)") +
                                                 json::serialize(json::value(e.what())) + "}"));
    CHECK(rig.target->calls == 0);
    CHECK(rig.storage->count_requests() == 1);
    CHECK(rig.engine().replays(id).items.empty());
}

TEST_CASE("replay: without confirmation nothing happens and the token stays usable", "[replay]") {
    Rig rig;
    const std::string id = rig.capture({mutation(1, "create", T_MS)});
    const std::string token = rig.token_for(id);
    auto e = thrown<ReplayNotConfirmed>([&] { rig.engine().replay(id, {false, token, false, "alice"}); });
    CHECK(e.http_status() == 400);
    CHECK_THAT(e.what(), Catch::Contains("\"confirm\": true"));
    CHECK(rig.target->calls == 0);
    CHECK(rig.engine().replay(id, {true, token, false, "alice"}).recorded);

    SECTION("request bodies") {
        auto o = parse_replay_options(R"({"confirm": true, "token": "abc", "skip_redacted": true})");
        CHECK(o.confirm);
        CHECK(o.token == "abc");
        CHECK(o.skip_redacted);
        CHECK(o.by.empty());
        CHECK_FALSE(parse_replay_options(R"({"token": "abc"})").confirm);
        CHECK(thrown<InvalidArgument>([] { parse_replay_options(R"({"confirm": "true"})"); }).parameter() == "confirm");
        CHECK(thrown<InvalidArgument>([] { parse_replay_options(R"({"token": 5})"); }).parameter() == "token");
        CHECK(thrown<InvalidArgument>([] { parse_replay_options(R"({"skip_redacted": 1})"); }).parameter() ==
              "skip_redacted");
        auto extra = thrown<InvalidArgument>([] { parse_replay_options(R"({"confirm": true, "skip_redact": true})"); });
        CHECK(extra.parameter() == "skip_redact");
        CHECK_THAT(extra.what(), Catch::Contains("unknown key"));
        CHECK(thrown<InvalidArgument>([] { parse_replay_options("[true]"); }).parameter() == "body");
        CHECK(thrown<InvalidArgument>([] { parse_replay_options(""); }).parameter() == "body");
        auto bad = thrown<InvalidArgument>([] { parse_replay_options("{\"confirm\": tru}"); });
        CHECK(bad.parameter() == "body");
        CHECK_THAT(bad.what(), Catch::Contains("line 1"));
    }
}

TEST_CASE("replay: a token replays once; a concurrent double submit replays exactly once", "[replay]") {
    Rig rig;
    const std::string id = rig.capture({mutation(1, "create", T_MS), mutation(2, "create", T_MS)});
    auto p = rig.engine().preview(id, {1, {}});
    rig.engine().replay(id, {true, p.token, false, "alice"});
    auto e = thrown<ReplayTokenRejected>([&] { rig.engine().replay(id, {true, p.token, false, "alice"}); });
    CHECK(e.http_status() == 409);
    CHECK(e.reason() == ReplayTokenRejected::Reason::used);
    CHECK_THAT(e.what(), Catch::Contains("already used"));
    CHECK(rig.target->calls == 1);
    // Paging on with the used preview's cursor hands out a new token.
    auto next = rig.engine().preview(id, {1, p.next_cursor});
    CHECK(next.token != p.token);
    CHECK(next.items.at(0).seq == 1);

    const std::string token = rig.token_for(id);
    std::atomic<bool> go{false};
    std::atomic<int> ok{0}, used{0}, other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&] {
            while (!go.load()) std::this_thread::yield();
            try {
                rig.engine().replay(id, {true, token, false, "double-click"});
                ++ok;
            } catch (const ReplayTokenRejected& x) {
                (x.reason() == ReplayTokenRejected::Reason::used ? used : other)++;
            } catch (...) {
                ++other;
            }
        });
    go = true;
    for (auto& t : threads) t.join();
    CHECK(ok == 1);
    CHECK(used == 7);
    CHECK(other == 0);
    CHECK(rig.target->calls == 2);
    CHECK(rig.engine().replays(id).items.size() == 2);
}

TEST_CASE("replay: tokens that are missing, unknown, expired or for another request are rejected", "[replay]") {
    Rig rig;
    const std::string a = rig.capture({mutation(1, "create", T_MS)});
    const std::string b = rig.capture({mutation(2, "create", T_MS)});
    using Reason = ReplayTokenRejected::Reason;
    auto reason = [&](const std::string& id, const std::string& token) {
        return thrown<ReplayTokenRejected>([&] { rig.engine().replay(id, {true, token, false, "x"}); }).reason();
    };
    CHECK(reason(a, "") == Reason::missing);
    CHECK(reason(a, "0123456789abcdef0123456789abcdef") == Reason::unknown);
    const std::string for_b = rig.token_for(b);
    auto e = thrown<ReplayTokenRejected>([&] { rig.engine().replay(a, {true, for_b, false, "x"}); });
    CHECK(e.reason() == Reason::other_request);
    CHECK_THAT(e.what(), Catch::Contains(a) && Catch::Contains(b));
    const std::string for_a = rig.token_for(a);
    rig.clock->advance(600 * SECOND);  // exactly the TTL: expired
    auto x = thrown<ReplayTokenRejected>([&] { rig.engine().replay(a, {true, for_a, false, "x"}); });
    CHECK(x.reason() == Reason::expired);
    CHECK_THAT(x.what(), Catch::Contains("expired at") && Catch::Contains("token_ttl_seconds"));
    CHECK(rig.target->calls == 0);
    // A fresh token works, and the token for b was never spent.
    CHECK(rig.replay(a).recorded);
    CHECK(rig.engine().replay(b, {true, rig.token_for(b), false, "x"}).recorded);
}

TEST_CASE("replay: unknown requests, pulls, empty pushes and missing services", "[replay]") {
    Rig rig;
    auto nf = thrown<ReplayNotFound>([&] { rig.engine().preview("01JD3Z6Q8YR000000000000404"); });
    CHECK(nf.http_status() == 404);
    CHECK(thrown<ReplayNotFound>([&] { rig.engine().replay("nope", {true, "t", false, "x"}); }).http_status() == 404);
    const std::string pull = rig.capture_body(test::pull_request("c1", std::nullopt), ExchangeKind::pull);
    CHECK(thrown<ReplayNotApplicable>([&] { rig.engine().preview(pull); }).http_status() == 422);
    CHECK_THAT(thrown<ReplayNotApplicable>([&] {
                   rig.engine().replay(pull, {true, "t", false, "x"});
               }).what(),
               Catch::Contains("pull"));
    const std::string empty = rig.capture({});
    auto p = rig.engine().preview(empty);
    CHECK(p.total == 0);
    CHECK(p.items.empty());
    CHECK(thrown<ReplayNotApplicable>([&] {
              rig.engine().replay(empty, {true, p.token, false, "x"});
          }).http_status() == 422);

    Rig bare(true, make_memory_storage(), /*services=*/false);
    const std::string id = bare.capture({mutation(1, "create", T_MS)});
    CHECK_FALSE(bare.engine().live_enabled());
    CHECK(thrown<ReplayUnavailable>([&] { bare.engine().preview(id); }).http_status() == 501);
    CHECK_THAT(thrown<ReplayUnavailable>([&] {
                   bare.engine().replay(id, {true, "t", false, "x"});
               }).what(),
               Catch::Contains("ReplayTarget"));
}

TEST_CASE("replay: a failing target is recorded as the replay's answer", "[replay]") {
    Rig rig;
    const std::string id = rig.capture({mutation(1, "create", T_MS)});
    rig.target->fail = true;
    auto r = rig.replay(id);
    CHECK(r.http_status == 500);
    CHECK_THAT(r.response_body, Catch::Contains("replay_target_failed") && Catch::Contains("sync engine unavailable"));
    CHECK(r.recorded);
    CHECK(r.outcome == RequestOutcome::error);
    CHECK(rig.engine().replays(id).items.at(0).outcome == RequestOutcome::error);
}

#ifdef TETHER_HAVE_SQLITE
namespace {
// Every column of the rows `sql` selects for `id`, type and bytes: a byte-level fingerprint.
std::string raw_rows(const std::string& db, const std::string& sql, const std::string& id) {
    SQLite::Database raw(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(raw, sql);
    q.bind(1, id);
    std::string out;
    while (q.executeStep())
        for (int i = 0; i < q.getColumnCount(); ++i) {
            auto c = q.getColumn(i);
            out += std::to_string(c.getType()) + ":" +
                   std::string(static_cast<const char*>(c.getBlob()), static_cast<std::size_t>(c.getBytes())) + "|";
        }
    return out;
}
}  // namespace

TEST_CASE("replay: the clone gets fresh ULIDs, is recorded and linked, and the original stays byte-identical",
          "[replay]") {
    test::TempDir dir;
    const std::string db = dir.file("replay.db");
    Rig rig(true, open_sqlite_storage({db}));
    std::vector<test::TestMutation> ms{mutation(1, "create", T_MS),
                                       mutation(2, "update", T_MS + 5, R"({"title":"Two","done":true})"),
                                       mutation(3, "delete", T_MS + 6, "[]", "Note")};
    const std::string id = rig.capture(ms);
    rig.state->put("Task", ms[1].entity_id, R"({"title":"One"})", T);
    rig.state->put("Note", ms[2].entity_id, R"({"body":"x"})", T);
    const std::string request_sql = "SELECT * FROM requests WHERE id = ?";
    const std::string mutation_sql = "SELECT * FROM mutations WHERE request_id = ? ORDER BY seq";
    const std::string request_before = raw_rows(db, request_sql, id), mutations_before = raw_rows(db, mutation_sql, id);
    REQUIRE_FALSE(mutations_before.empty());

    rig.clock->advance(SECOND);
    auto r = rig.engine().replay(id, {true, rig.token_for(id), false, "alice@example.com"});
    CHECK(raw_rows(db, request_sql, id) == request_before);
    CHECK(raw_rows(db, mutation_sql, id) == mutations_before);

    // Fresh, distinct ULIDs for every mutation, in push order.
    CHECK(is_valid_ulid(r.replay_request_id));
    CHECK(r.replay_of == id);
    CHECK(r.by == "alice@example.com");
    CHECK(r.at_us == T + SECOND);
    CHECK(r.skipped.empty());
    REQUIRE(r.mutation_id_map.size() == 3);
    std::set<std::string> fresh;
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(r.mutation_id_map[i].from == ms[i].mutation_id);
        CHECK(is_valid_ulid(r.mutation_id_map[i].to));
        CHECK(r.mutation_id_map[i].to != ms[i].mutation_id);
        fresh.insert(r.mutation_id_map[i].to);
    }
    CHECK(fresh.size() == 3);

    // The target got the captured push with only the mutation ids changed.
    const auto sent = rig.target->last();
    CHECK(sent.original_request_id == id);
    CHECK(sent.replay_request_id == r.replay_request_id);
    CHECK(sent.client_id == "c-7f3a");
    CHECK(sent.client_version == "2.3.1");
    auto clone = json::parse(sent.body);
    auto original = json::parse(test::push_request("c-7f3a", ms));
    CHECK(mutation_ids(clone) == std::vector<std::string>(fresh.begin(), fresh.end()));  // ULIDs sort by creation
    for (auto& m : original.at("mutations").as_array()) m.as_object().erase("mutation_id");
    for (auto& m : clone.at("mutations").as_array()) m.as_object().erase("mutation_id");
    CHECK(clone == original);

    // Recorded as its own request, linked both ways, with its audit.
    CHECK(r.recorded);
    CHECK(r.http_status == 200);
    CHECK(r.outcome == RequestOutcome::ok);
    auto stored = rig.storage->get_request(r.replay_request_id);
    REQUIRE(stored);
    CHECK(stored->replay_of == id);
    CHECK(stored->client_id == "c-7f3a");
    CHECK(stored->applied == 3);
    REQUIRE(stored->replay_audit);
    CHECK(*stored->replay_audit == ReplayAudit{"alice@example.com", T + SECOND, r.mutation_id_map, {}});
    std::vector<std::string> stored_ids;
    for (const auto& m : rig.storage->list_mutations(r.replay_request_id, {}, {}).items)
        stored_ids.push_back(m.mutation_id);
    CHECK(stored_ids == mutation_ids(json::parse(sent.body)));
    auto links = rig.engine().replays(id);
    REQUIRE(links.items.size() == 1);
    CHECK(links.items[0].id == r.replay_request_id);
    CHECK(links.items[0].audit == stored->replay_audit);

    // The JSON the dashboard reads.
    auto result = json::parse(to_json(r)).as_object();
    CHECK(result.at("replay_request_id") == r.replay_request_id.c_str());
    CHECK(result.at("mutation_id_map").as_object().size() == 3);
    CHECK(result.at("mutation_id_map").at(ms[0].mutation_id) == r.mutation_id_map[0].to.c_str());
    CHECK(result.at("skipped").as_array().empty());
    CHECK(result.at("outcome") == "ok");
    CHECK(result.at("recorded") == true);
    CHECK(result.at("at") == "2024-11-25T02:00:01.000000Z");
    auto listed = json::parse(replay_links_json(links.items)).as_array().at(0).as_object();
    for (const char* key : {"id", "started_at", "started_at_us", "by", "outcome", "mutation_id_map", "skipped", "at"})
        CHECK(listed.contains(key));
    CHECK(listed.at("by") == "alice@example.com");
    CHECK(json::parse(to_json(links)).at("next_cursor").is_null());
}
#endif

TEST_CASE("replay: a replay of a replay is allowed and the chain is visible", "[replay]") {
    Rig rig;
    const std::string id = rig.capture({mutation(1, "create", T_MS), mutation(2, "create", T_MS)});
    auto first = rig.replay(id);
    REQUIRE(first.recorded);
    auto preview = rig.engine().preview(first.replay_request_id);  // a replay is a captured push like any other
    CHECK(preview.total == 2);
    CHECK(preview.replayable == 2);
    auto second = rig.engine().replay(first.replay_request_id, {true, preview.token, false, "bob"});
    REQUIRE(second.recorded);
    CHECK(second.replay_of == first.replay_request_id);
    REQUIRE(second.mutation_id_map.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) CHECK(second.mutation_id_map[i].from == first.mutation_id_map[i].to);

    auto of_original = rig.engine().replays(id).items;
    auto of_first = rig.engine().replays(first.replay_request_id).items;
    REQUIRE(of_original.size() == 1);
    REQUIRE(of_first.size() == 1);
    CHECK(of_original[0].id == first.replay_request_id);
    CHECK(of_first[0].id == second.replay_request_id);
    CHECK(of_first[0].audit->by == "bob");
    CHECK(rig.storage->get_request(second.replay_request_id)->replay_of == first.replay_request_id);
    CHECK(rig.engine().replays(second.replay_request_id).items.empty());
}
