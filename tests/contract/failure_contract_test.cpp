// The failure part of the Storage contract (rows, groups, clients, poison mutations), run
// against every backend. Expectations are written out literally or recomputed here from the
// records, never taken from the shared counting code.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <set>

#include "support/backends.hpp"
#include "support/pages.hpp"
#include "tether/errors.hpp"
#include "tether/failure_store.hpp"
#include "tether/storage.hpp"

using namespace tether;

namespace {


constexpr Micros H0 = 1'795'600'800'000'000;  // a whole hour
constexpr Micros MIN = 60'000'000;

std::string id(char tag, long n) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%c%025ld", tag, n);
    return buf;
}

// A request and its mutations, built up with the helpers below.
struct Push {
    CapturedRequest c;
    long n;
    Push(long n_, const std::string& client, Micros at, std::string instance = "i0") : n(n_) {
        auto& r = c.request;
        r.id = id('R', n);
        r.kind = ExchangeKind::push;
        r.client_id = client;
        r.client_version = "1.0." + std::to_string(n % 3);
        r.instance = std::move(instance);
        r.started_at_us = at;
        r.http_status = 200;
    }
    MutationRecord& add(MutationOutcome outcome, const std::string& model, const std::string& mutation_id = {}) {
        MutationRecord m;
        m.id = id('M', n * 1000 + static_cast<long>(c.mutations.size()));
        m.request_id = c.request.id;
        m.seq = static_cast<std::uint32_t>(c.mutations.size());
        m.client_id = c.request.client_id;
        m.instance = c.request.instance;
        m.started_at_us = c.request.started_at_us;
        m.mutation_id = mutation_id.empty() ? "mid-" + m.id : mutation_id;
        m.entity_id = "e-" + m.id.substr(20);
        m.model = model;
        m.operation = "update";
        m.payload_json = R"({"title":"x"})";
        m.outcome = outcome;
        c.mutations.push_back(std::move(m));
        finish();
        return c.mutations.back();
    }
    MutationRecord& reject(const std::string& model, const std::string& reason, const std::string& validation = {},
                           const std::string& mutation_id = {}) {
        auto& m = add(MutationOutcome::rejected, model, mutation_id);
        m.reason = reason;
        m.validation_json = validation;
        finish();
        return m;
    }
    MutationRecord& conflict(const std::string& model, const std::string& mutation_id = {}) {
        auto& m = add(MutationOutcome::conflict, model, mutation_id);
        m.reason = "conflict";
        m.conflict = ConflictInfo{};
        m.conflict->reason = "conflict";
        finish();
        return m;
    }
    // The request summary follows its mutations (the pipeline's rule, restated).
    void finish() {
        auto& r = c.request;
        r.mutation_count = static_cast<std::uint32_t>(c.mutations.size());
        r.applied = r.rejected = r.conflicts = 0;
        for (const auto& m : c.mutations) {
            r.applied += m.outcome == MutationOutcome::applied;
            r.rejected += m.outcome == MutationOutcome::rejected;
            r.conflicts += m.conflict.has_value();
        }
        if (r.outcome != RequestOutcome::error)
            r.outcome = r.rejected ? RequestOutcome::rejected : r.conflicts ? RequestOutcome::conflict : RequestOutcome::ok;
    }
};

CapturedRequest pull(long n, const std::string& client, Micros at, RequestOutcome outcome = RequestOutcome::ok) {
    CapturedRequest c;
    c.request.id = id('R', n);
    c.request.kind = ExchangeKind::pull;
    c.request.client_id = client;
    c.request.instance = "i0";
    c.request.started_at_us = at;
    c.request.outcome = outcome;
    c.request.http_status = outcome == RequestOutcome::error ? 500 : 200;
    return c;
}

const std::string title_required = R"({"title":["The title field is required."],"due_at":["Bad date."]})";

std::vector<FailureRecord> walk(Storage& st, const FailureFilter& f, std::size_t limit) {
    std::vector<FailureRecord> out;
    PageRequest p;
    p.limit = limit;
    for (int guard = 0; guard < 1000; ++guard) {
        auto page = st.list_failures(f, p);
        REQUIRE(page.items.size() <= limit);
        for (auto& x : page.items) out.push_back(std::move(x));
        if (page.next_cursor.empty()) return out;
        p.cursor = page.next_cursor;
    }
    FAIL("pages never ended");
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("failure contract: rows with context, newest first, filters across pages", "[storage][contract][failures]",
                   TETHER_STORAGE_BACKENDS) {
    TestType b;
    Storage& st = *b.storage;

    Push a(1, "c-1", H0 + 1 * MIN);
    a.add(MutationOutcome::applied, "Task");
    a.reject("Task", "validation_failed", title_required);
    a.reject("Project", "not_found");
    Push d(2, "c-2", H0 + 2 * MIN, "i1");
    d.reject("Task", "", "");                                      // no reason given
    d.reject("Note", "quota_exceeded").rejection_data_json = R"({"message":"over quota"})";  // kept verbatim
    Push e(3, "c-2", H0 + 3 * MIN);
    e.c.request.outcome = RequestOutcome::error;
    e.c.request.http_status = 500;
    Push p(4, "c-3", H0 + 4 * MIN);
    p.c.request.outcome = RequestOutcome::error;
    p.c.request.notes.push_back({"request", "/mutations/3/model", "missing; expected a string", true});
    p.c.request.notes.push_back({"request", "/client_id", "missing; expected a string", true});
    Push j(5, "c-3", H0 + 5 * MIN);
    j.c.request.outcome = RequestOutcome::error;
    j.c.request.http_status = 400;
    j.c.request.request_parse_error = ParseFailure{"syntax error", 7, 1, 8};
    st.write_batch({a.c, d.c});
    st.write_batch({e.c, p.c, j.c});

    auto all = walk(st, {}, 2);
    REQUIRE(all.size() == 7);
    // Newest first by (started_at, id).
    for (std::size_t i = 1; i < all.size(); ++i)
        CHECK(std::tie(all[i - 1].started_at_us, all[i - 1].id) > std::tie(all[i].started_at_us, all[i].id));

    std::map<std::string, FailureRecord> by_reason;
    for (const auto& f : all) by_reason[f.reason] = f;
    REQUIRE(by_reason.size() == 7);
    const auto& v = by_reason.at("validation_failed");
    CHECK(v.kind == FailureKind::mutation);
    CHECK(v.id == a.c.mutations[1].id);
    CHECK(v.request_id == a.c.request.id);
    CHECK(v.mutation_id == a.c.mutations[1].mutation_id);
    CHECK(v.model == "Task");
    CHECK(v.client_id == "c-1");
    CHECK(v.client_version == a.c.request.client_version);
    CHECK(v.instance == "i0");
    CHECK(v.fields == std::vector<std::string>{"due_at", "title"});
    CHECK(v.message == "title: The title field is required.");
    CHECK(v.messages_json == title_required);
    CHECK(v.fingerprint.size() == 16);
    CHECK(by_reason.at("not_found").message == "the entity does not exist on the server");
    CHECK(by_reason.at("unknown").model == "Task");
    CHECK(by_reason.at("quota_exceeded").message == "over quota");
    CHECK(by_reason.at("quota_exceeded").instance == "i1");
    const auto& http = by_reason.at("http_500");
    CHECK(http.kind == FailureKind::request);
    CHECK(http.id == e.c.request.id);
    CHECK(http.http_status == 500);
    CHECK(http.model.empty());
    const auto& proto = by_reason.at("protocol_error");
    CHECK(proto.fields == std::vector<std::string>{"/client_id", "/mutations/*/model"});
    CHECK(by_reason.at("invalid_request_body").message.find("line 1, column 8") != std::string::npos);

    // Same grouping key, same fingerprint; a different field set, a different one.
    Push again(6, "c-9", H0 + 6 * MIN);
    again.reject("Task", "validation_failed", R"({"due_at":["x"],"title":["y"]})");
    again.reject("Task", "validation_failed", R"({"title":["y"]})");
    st.write_batch({again.c});
    auto newest = st.list_failures({}, {2, ""}).items;
    REQUIRE(newest.size() == 2);
    std::set<std::string> fps{newest[0].fingerprint, newest[1].fingerprint};
    CHECK(fps.count(v.fingerprint) == 1);
    CHECK(fps.size() == 2);

    SECTION("filters alone and combined equal filtering everything") {
        auto everything = walk(st, {}, 500);
        std::vector<FailureFilter> filters(9);
        filters[0].fingerprint = v.fingerprint;
        filters[1].model = "Task";
        filters[2].client_id = "c-2";
        filters[3].reason = "not_found";
        filters[4].instance = "i1";
        filters[5].kind = FailureKind::request;
        filters[6].from_us = H0 + 2 * MIN;
        filters[6].to_us = H0 + 5 * MIN;
        filters[7].model = "Task";
        filters[7].client_id = "c-9";
        filters[7].kind = FailureKind::mutation;
        filters[8].client_id = "nobody";
        for (const auto& f : filters) {
            std::vector<std::string> want;
            for (const auto& x : everything) {
                if (!f.fingerprint.empty() && x.fingerprint != f.fingerprint) continue;
                if (!f.model.empty() && x.model != f.model) continue;
                if (!f.client_id.empty() && x.client_id != f.client_id) continue;
                if (!f.reason.empty() && x.reason != f.reason) continue;
                if (!f.instance.empty() && x.instance != f.instance) continue;
                if (f.kind && x.kind != *f.kind) continue;
                if (f.from_us && x.started_at_us < *f.from_us) continue;
                if (f.to_us && x.started_at_us >= *f.to_us) continue;
                want.push_back(x.id);
            }
            for (std::size_t limit : {1, 2, 500}) {
                std::vector<std::string> got;
                for (const auto& x : walk(st, f, limit)) got.push_back(x.id);
                CHECK(got == want);
            }
        }
    }
    SECTION("bad limits and cursors are InvalidArgument") {
        CHECK_THROWS_AS(st.list_failures({}, {0, ""}), InvalidArgument);
        CHECK_THROWS_AS(st.list_failures({}, {501, ""}), InvalidArgument);
        CHECK_THROWS_AS(st.list_failures({}, {10, "garbage!"}), InvalidArgument);
    }
    SECTION("pruned requests take their failure rows along, the groups stay") {
        RetentionPolicy policy;
        policy.max_requests = 1;
        while (st.prune(policy, H0 + 10 * MIN, 2) == 2) {
        }
        auto left = walk(st, {}, 10);
        REQUIRE(left.size() == 2);
        CHECK(left[0].request_id == again.c.request.id);
        FailureGroupQuery q;
        q.now_us = H0 + 10 * MIN;
        std::uint64_t total = 0;
        for (const auto& g : st.failure_groups(q, {})) total += g.count;
        CHECK(total == 9);
        auto g = st.failure_group(v.fingerprint, "", H0 + 10 * MIN, {});
        REQUIRE(g);
        CHECK(g->count == 2);
        CHECK(g->sample_ids == std::vector<std::string>{again.c.mutations[0].id});  // only rows still stored
    }
}

TEMPLATE_TEST_CASE("failure contract: groups count, order, filter, trend and explain", "[storage][contract][failures]",
                   TETHER_STORAGE_BACKENDS) {
    TestType b;
    Storage& st = *b.storage;
    const Micros now = H0 + 2 * one_hour_us + 30 * MIN;  // 02:30
    // c-bad fails every Project it sends (7 of 7); c-ok fails 3 of 10; c-x fails Task once.
    std::vector<CapturedRequest> rows;
    long n = 0;
    for (int i = 0; i < 7; ++i) {
        Push p(++n, "c-bad", H0 + i * 20 * MIN, i % 2 ? "i1" : "i0");  // 00:00 … 02:00
        p.reject("Project", "validation_failed", R"({"name":["The name field is required."]})");
        rows.push_back(p.c);
    }
    for (int i = 0; i < 10; ++i) {
        Push p(++n, "c-ok", H0 + 2 * one_hour_us + i * MIN);  // 02:00 … 02:09
        if (i < 3)
            p.reject("Project", "validation_failed", R"({"name":["The name field is required."]})");
        else
            p.add(MutationOutcome::applied, "Project");
        rows.push_back(p.c);
    }
    Push x(++n, "c-x", H0 + 90 * MIN);
    x.reject("Task", "not_found");
    rows.push_back(x.c);
    // Uneven batches, out of time order: counts must not depend on how rows arrive.
    for (std::size_t i = rows.size(), size = 1; i > 0;) {
        std::vector<CapturedRequest> batch;
        while (i > 0 && batch.size() < size) batch.push_back(rows[--i]);
        st.write_batch(batch);
        size = size % 4 + 1;
    }

    FailureGroupQuery q;
    q.now_us = now;
    FailureThresholds t;  // 5 failures, 80 %
    auto groups = st.failure_groups(q, t);
    REQUIRE(groups.size() == 2);
    const auto& g = groups[0];
    CHECK(g.kind == FailureKind::mutation);
    CHECK(g.model == "Project");
    CHECK(g.reason == "validation_failed");
    CHECK(g.fields == std::vector<std::string>{"name"});
    CHECK(g.count == 10);
    CHECK(g.first_seen_us == H0);
    CHECK(g.last_seen_us == H0 + 2 * one_hour_us + 2 * MIN);
    CHECK(g.clients == 2);
    CHECK(g.systematic);
    CHECK(g.systematic_clients == std::vector<std::string>{"c-bad"});
    REQUIRE(g.top_clients.size() == 2);
    CHECK(g.top_clients[0].client_id == "c-bad");
    CHECK(g.top_clients[0].failures == 7);
    CHECK(g.top_clients[0].attempts == 7);
    CHECK(g.top_clients[0].ratio == Approx(1.0));
    CHECK(g.top_clients[1].client_id == "c-ok");
    CHECK(g.top_clients[1].attempts == 10);
    CHECK(g.top_clients[1].ratio == Approx(0.3));
    CHECK_FALSE(g.top_clients[1].systematic);
    // Last hour = [01:35, 02:35): c-bad at 01:40 and 02:00, c-ok's three; the hour before: 00:40, 01:00, 01:20.
    CHECK(g.last_hour == 5);
    CHECK(g.previous_hour == 3);
    CHECK(g.sample_ids.size() == 5);
    CHECK(g.sample_request_ids.size() == 5);
    CHECK(g.explanation.find("Rejected Project mutations with reason \"validation_failed\" on the fields name") == 0);
    CHECK(g.explanation.find("Systematic: client c-bad failed 7 of its 7 Project mutations (100%)") !=
          std::string::npos);
    CHECK(g.hourly.empty());
    CHECK(groups[1].model == "Task");
    CHECK(groups[1].count == 1);
    CHECK_FALSE(groups[1].systematic);
    CHECK(groups[1].explanation.find("Systematic") == std::string::npos);

    SECTION("thresholds decide what is systematic") {
        FailureThresholds strict;
        strict.systematic_min_failures = 8;
        CHECK_FALSE(st.failure_groups(q, strict)[0].systematic);
        FailureThresholds loose;
        loose.systematic_min_failures = 3;
        loose.systematic_min_ratio = 0.3;
        CHECK(st.failure_groups(q, loose)[0].systematic_clients == std::vector<std::string>{"c-bad", "c-ok"});
        FailureGroupQuery only = q;
        only.systematic_only = true;
        auto sys = st.failure_groups(only, t);
        REQUIRE(sys.size() == 1);
        CHECK(sys[0].model == "Project");
    }
    SECTION("filters, sort and limit") {
        FailureGroupQuery f = q;
        f.model = "Task";
        REQUIRE(st.failure_groups(f, t).size() == 1);
        f = q;
        f.reason = "not_found";
        REQUIRE(st.failure_groups(f, t).size() == 1);
        f = q;
        f.client_id = "c-ok";
        auto ok = st.failure_groups(f, t);
        REQUIRE(ok.size() == 1);
        CHECK(ok[0].count == 10);  // the group's total, not only c-ok's share
        f = q;
        f.instance = "i1";
        auto i1 = st.failure_groups(f, t);
        REQUIRE(i1.size() == 1);
        CHECK(i1[0].count == 3);
        CHECK(i1[0].clients == 1);
        f = q;
        f.sort = FailureGroupQuery::Sort::last_seen;
        CHECK(st.failure_groups(f, t)[0].model == "Project");
        f.limit = 1;
        CHECK(st.failure_groups(f, t).size() == 1);
        f.limit = 0;
        CHECK_THROWS_AS(st.failure_groups(f, t), InvalidArgument);
        f.limit = 501;
        CHECK_THROWS_AS(st.failure_groups(f, t), InvalidArgument);
    }
    SECTION("one group with its 24 hours") {
        auto one = st.failure_group(g.fingerprint, "", now, t);
        REQUIRE(one);
        CHECK(one->count == 10);
        REQUIRE(one->hourly.size() == 24);
        CHECK(one->hourly.back().start_us == H0 + 2 * one_hour_us);
        CHECK(one->hourly[21].count == 3);  // 00:00 00:20 00:40
        CHECK(one->hourly[22].count == 3);  // 01:00 01:20 01:40
        CHECK(one->hourly[23].count == 4);  // 02:00, and c-ok's three
        CHECK_FALSE(st.failure_group("0000000000000000", "", now, t));
        CHECK_FALSE(st.failure_group(g.fingerprint, "nowhere", now, t));
    }
    SECTION("prune_rollups drops groups last seen before the cut") {
        st.prune_rollups(H0 + 100 * MIN);  // Task's group was last seen at 01:30
        auto left = st.failure_groups(q, t);
        REQUIRE(left.size() == 1);
        CHECK(left[0].model == "Project");
    }
}

TEMPLATE_TEST_CASE("failure contract: every element of an array field is one group", "[storage][contract][failures]",
                   TETHER_STORAGE_BACKENDS) {
    TestType b;
    Storage& st = *b.storage;
    long n = 0;
    auto bad = [&](const std::string& validation) {
        ++n;
        Push p(n, "c-1", H0 + n);
        p.reject("Note", "validation_failed", validation);
        return p.c;
    };
    st.write_batch({bad(R"({"tags.0":["The tags.0 field must be a string."]})"),
                    bad(R"({"tags.0":["The tags.0 field must be a string."],"tags.1":["The tags.1 field must be a string."]})"),
                    bad(R"({"tags.12":["x"],"items.3.name":["y"],"v2.0":["z"]})")});
    FailureGroupQuery q;
    q.now_us = H0 + one_hour_us;
    auto groups = st.failure_groups(q, FailureThresholds{});
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].fields == std::vector<std::string>{"tags.*"});
    CHECK(groups[0].count == 2);
    CHECK(groups[1].fields == std::vector<std::string>{"items.*.name", "tags.*", "v2.*"});
    // Each failure keeps the message of the element that failed.
    auto rows = walk(st, {}, 10);
    REQUIRE(rows.size() == 3);
    CHECK(rows[1].message == "tags.0: The tags.0 field must be a string.");
}

TEMPLATE_TEST_CASE("failure contract: clients, streaks and stuck flags", "[storage][contract][failures]",
                   TETHER_STORAGE_BACKENDS) {
    TestType b;
    Storage& st = *b.storage;
    FailureThresholds t;  // stuck after 3
    long n = 0;
    auto ok_push = [&](const std::string& c, Micros at) {
        Push p(++n, c, at);
        p.add(MutationOutcome::applied, "Task");
        return p.c;
    };
    auto bad_push = [&](const std::string& c, Micros at) {
        Push p(++n, c, at);
        p.reject("Task", "validation_failed", R"({"title":["x"]})");
        return p.c;
    };
    auto conflict_push = [&](const std::string& c, Micros at) {
        Push p(++n, c, at);
        p.conflict("Note");
        return p.c;
    };
    // c-1: ok, bad, conflict, (pull ok), bad -> three bad pushes in a row: stuck.
    st.write_batch({ok_push("c-1", H0 + 1), bad_push("c-1", H0 + 2)});
    st.write_batch({pull(++n, "c-1", H0 + 4), conflict_push("c-1", H0 + 3), bad_push("c-1", H0 + 5)});
    // c-2: bad, bad, then ok: recovered. c-3: only pulls, one failed.
    st.write_batch({bad_push("c-2", H0 + 6), bad_push("c-2", H0 + 7), ok_push("c-2", H0 + 8), pull(++n, "c-3", H0 + 9),
                    pull(++n, "c-3", H0 + 10, RequestOutcome::error)});

    auto c1 = st.get_client("c-1", t);
    REQUIRE(c1);
    CHECK(c1->requests == 5);
    CHECK(c1->pushes == 4);
    CHECK(c1->pulls == 1);
    CHECK(c1->mutations == 4);
    CHECK(c1->failed_requests == 2);
    CHECK(c1->conflicted_requests == 1);
    CHECK(c1->failing_streak == 3);
    CHECK(c1->stuck);
    CHECK(c1->first_seen_us == H0 + 1);
    CHECK(c1->last_seen_us == H0 + 5);
    CHECK(c1->last_success_us == H0 + 4);       // the pull
    CHECK(c1->last_push_success_us == H0 + 1);  // the first push
    auto c2 = st.get_client("c-2", t);
    REQUIRE(c2);
    CHECK(c2->failing_streak == 0);
    CHECK_FALSE(c2->stuck);
    auto c3 = st.get_client("c-3", t);
    REQUIRE(c3);
    CHECK(c3->failing_streak == 0);
    CHECK(c3->failed_requests == 1);
    CHECK_FALSE(c3->last_push_success_us);
    CHECK_FALSE(st.get_client("nobody", t));

    auto models = st.client_models("c-1");
    REQUIRE(models.size() == 2);
    CHECK(models[0].model == "Task");
    CHECK(models[0].mutations == 3);
    CHECK(models[0].failures == 2);
    CHECK(models[1].model == "Note");
    CHECK(models[1].conflicts == 1);

    // Newest last_seen first, across pages; the stuck filter.
    std::vector<std::string> order;
    for (const auto& c : test::walk_pages([&](const PageRequest& p) { return st.list_clients({}, p, t); }, 1))
        order.push_back(c.client_id);
    CHECK(order == std::vector<std::string>{"c-3", "c-2", "c-1"});
    ClientFilter stuck;
    stuck.stuck_only = true;
    auto s = st.list_clients(stuck, {50, ""}, t);
    REQUIRE(s.items.size() == 1);
    CHECK(s.items[0].client_id == "c-1");
    FailureThresholds four;
    four.stuck_after_pushes = 4;
    CHECK(st.list_clients(stuck, {50, ""}, four).items.empty());
    CHECK_THROWS_AS(st.list_clients({}, {0, ""}, t), InvalidArgument);
    // A cursor of another list (ids are ULIDs there, not the client list's seq) is refused.
    const auto other = st.list_requests({}, {1, ""}).next_cursor;
    REQUIRE_FALSE(other.empty());
    CHECK_THROWS_WITH(st.list_clients({}, {50, other}, t), Catch::Contains("not a client list cursor"));
    CHECK_THROWS_AS(st.list_clients({}, {50, encode_cursor({H0, "012"})}, t), InvalidArgument);

    // One ok push ends the streak.
    st.write_batch({ok_push("c-1", H0 + 20)});
    CHECK(st.get_client("c-1", t)->failing_streak == 0);
    CHECK(st.list_clients(stuck, {50, ""}, t).items.empty());

    SECTION("prune_rollups forgets clients last seen before the cut") {
        st.prune_rollups(H0 + 15);
        CHECK(st.get_client("c-1", t));
        CHECK_FALSE(st.get_client("c-2", t));
        CHECK(st.client_models("c-2").empty());
    }
}

TEMPLATE_TEST_CASE("failure contract: poison mutations", "[storage][contract][failures]", TETHER_STORAGE_BACKENDS) {
    TestType b;
    Storage& st = *b.storage;
    FailureThresholds t;  // poison after 3
    long n = 0;
    auto attempt = [&](const std::string& client, const std::string& mid, MutationOutcome outcome, Micros at) {
        Push p(++n, client, at);
        if (outcome == MutationOutcome::rejected)
            p.reject("Task", "validation_failed", R"({"title":["x"]})", mid);
        else if (outcome == MutationOutcome::conflict)
            p.conflict("Task", mid);
        else
            p.add(outcome, "Task", mid);
        return p.c;
    };
    st.write_batch({attempt("c-1", "m-poison", MutationOutcome::rejected, H0 + 1),
                    attempt("c-1", "m-poison", MutationOutcome::conflict, H0 + 2)});
    st.write_batch({attempt("c-1", "m-poison", MutationOutcome::rejected, H0 + 3),
                    attempt("c-1", "m-twice", MutationOutcome::rejected, H0 + 4),
                    attempt("c-1", "m-twice", MutationOutcome::rejected, H0 + 5),
                    attempt("c-2", "m-healed", MutationOutcome::rejected, H0 + 6),
                    attempt("c-2", "m-healed", MutationOutcome::rejected, H0 + 7),
                    attempt("c-2", "m-healed", MutationOutcome::rejected, H0 + 8),
                    attempt("c-2", "m-fine", MutationOutcome::applied, H0 + 9)});
    st.write_batch({attempt("c-2", "m-healed", MutationOutcome::applied, H0 + 10)});

    auto list = st.poison_mutations({}, t);
    REQUIRE(list.size() == 1);
    const auto& p = list[0];
    CHECK(p.mutation_id == "m-poison");
    CHECK(p.client_id == "c-1");
    CHECK(p.model == "Task");
    CHECK(p.attempts == 3);
    CHECK(p.failures == 3);
    CHECK(p.failing_streak == 3);
    CHECK(p.last_reason == "validation_failed");
    CHECK(p.first_seen_us == H0 + 1);
    CHECK(p.last_seen_us == H0 + 3);
    CHECK_FALSE(p.client_last_success_us);  // c-1 never synced successfully

    FailureThresholds two;
    two.poison_after_failures = 2;
    auto more = st.poison_mutations({}, two);
    REQUIRE(more.size() == 2);
    CHECK(more[0].mutation_id == "m-twice");  // newest last seen first
    PoisonQuery c2;
    c2.client_id = "c-2";
    CHECK(st.poison_mutations(c2, two).empty());  // m-healed was applied in the end
    PoisonQuery one;
    one.limit = 1;
    CHECK(st.poison_mutations(one, two).size() == 1);
    one.limit = 0;
    CHECK_THROWS_AS(st.poison_mutations(one, t), InvalidArgument);
}

TEMPLATE_TEST_CASE("failure contract: replays are history, not client traffic", "[storage][contract][failures]",
                   TETHER_STORAGE_BACKENDS) {
    TestType b;
    Storage& st = *b.storage;
    FailureThresholds t;  // stuck after 3, poison after 3
    long n = 0;
    Push ok(++n, "c-1", H0 + 1);
    ok.add(MutationOutcome::applied, "Task", "m-1");
    st.write_batch({ok.c});
    // An operator replays three times; each replay fails (rejected, conflict, rejected), with
    // the same mutation id, at later times. None of it is the client's doing.
    std::vector<CapturedRequest> replays;
    for (int i = 0; i < 3; ++i) {
        Push r(++n, "c-1", H0 + 10 + i);
        r.c.request.replay_of = ok.c.request.id;
        if (i == 1)
            r.conflict("Task", "m-1");
        else
            r.reject("Task", "validation_failed", title_required, "m-1");
        replays.push_back(r.c);
    }
    st.write_batch(replays);

    auto c1 = st.get_client("c-1", t);
    REQUIRE(c1);
    CHECK(c1->requests == 1);
    CHECK(c1->failed_requests == 0);
    CHECK(c1->failing_streak == 0);
    CHECK_FALSE(c1->stuck);
    CHECK(c1->last_seen_us == H0 + 1);
    auto models = st.client_models("c-1");
    REQUIRE(models.size() == 1);
    CHECK(models[0].mutations == 1);
    CHECK(models[0].failures == 0);
    CHECK(walk(st, {}, 10).empty());
    CHECK(st.failure_groups({}, t).empty());
    FailureThresholds one;
    one.poison_after_failures = 1;
    CHECK(st.poison_mutations({}, one).empty());
    ConflictPatternQuery q;
    q.from_us = H0;
    q.to_us = H0 + 3'600'000'000;
    CHECK(st.conflict_patterns(q).total == 0);

    // Still in the history, with their mutations and the conflict, linked to the original.
    CHECK(test::walk_pages([&](const PageRequest& p) { return st.list_requests({}, p); }, 2).size() == 4);
    CHECK(st.list_replays(ok.c.request.id, {50, ""}).items.size() == 3);
    CHECK(st.list_conflicts({}, {50, ""}).items.size() == 1);
}

TEMPLATE_TEST_CASE("failure contract: prune keeps the most recently seen poison candidates",
                   "[storage][contract][failures]", TETHER_STORAGE_BACKENDS) {
    TestType b;
    Storage& st = *b.storage;
    for (int i = 1; i <= 5; ++i) {
        Push p(i, "c-1", H0 + i);
        p.reject("Task", "validation_failed", R"({"title":["x"]})", "m-" + std::to_string(i));
        st.write_batch({p.c});
    }
    FailureThresholds any;
    any.poison_after_failures = 1;
    auto ids = [&] {
        std::vector<std::string> out;
        for (const auto& m : st.poison_mutations({}, any)) out.push_back(m.mutation_id);
        return out;
    };
    REQUIRE(ids().size() == 5);

    RetentionPolicy none;  // no limit at all: nothing happens
    CHECK(st.prune(none, H0 + 100, 100) == 0);
    CHECK(ids().size() == 5);

    RetentionPolicy cap;
    cap.max_tracked_mutations = 3;
    CHECK(st.prune(cap, H0 + 100, 100) == 0);  // candidates are not requests: not counted
    CHECK(ids() == std::vector<std::string>{"m-5", "m-4", "m-3"});
    CHECK(st.count_requests() == 5);  // the requests themselves stay
    CHECK(st.prune(cap, H0 + 100, 100) == 0);
    CHECK(ids().size() == 3);  // already within the cap

    // A trimmed mutation that fails again starts a new streak.
    Push again(6, "c-1", H0 + 6);
    again.reject("Task", "validation_failed", R"({"title":["x"]})", "m-1");
    st.write_batch({again.c});
    const auto list = st.poison_mutations({}, any);
    REQUIRE(list.size() == 4);
    CHECK(list[0].mutation_id == "m-1");
    CHECK(list[0].attempts == 1);
    CHECK(list[0].first_seen_us == H0 + 6);
}

TEMPLATE_TEST_CASE("failure contract: failures commit with their batch or not at all", "[storage][contract][failures]",
                   TETHER_STORAGE_BACKENDS) {
    TestType b;
    Storage& st = *b.storage;
    Push good(1, "c-1", H0);
    good.reject("Task", "not_found");
    st.write_batch({good.c});
    Push bad(2, "c-2", H0 + 1);
    bad.reject("Task", "validation_failed", R"({"title":["x"]})");
    Push dup(1, "c-3", H0 + 2);  // a request id already stored
    CHECK_THROWS_AS(st.write_batch({bad.c, dup.c}), StorageError);
    CHECK(walk(st, {}, 50).size() == 1);
    FailureGroupQuery q;
    q.now_us = H0;
    CHECK(st.failure_groups(q, {}).size() == 1);
    CHECK_FALSE(st.get_client("c-2", {}));
}
