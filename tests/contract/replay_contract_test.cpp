// The replay part of the Storage contract: the audit a replay is written with, the list of
// a request's replays (replay_of reversed), atomicity and retention; run against every backend.
#include <catch2/catch.hpp>
#include <cstdio>

#include "support/backends.hpp"
#include "support/pages.hpp"
#include "tether/errors.hpp"
#include "tether/storage.hpp"

using namespace tether;

namespace {

constexpr Micros T0 = 1'795'600'800'000'000;

std::string rid(long n) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "R%025ld", n);
    return buf;
}

// A push with one mutation; a replay of `replay_of` (with `audit`) when given.
CapturedRequest push(long n, Micros at, std::string replay_of = {}, std::optional<ReplayAudit> audit = {}) {
    CapturedRequest c;
    auto& r = c.request;
    r.id = rid(n);
    r.kind = ExchangeKind::push;
    r.client_id = "c1";
    r.started_at_us = at;
    r.http_status = 200 + static_cast<int>(n % 3);
    r.outcome = n % 2 ? RequestOutcome::conflict : RequestOutcome::ok;
    r.request_body = R"({"client_id":"c1","mutations":[]})";
    r.replay_of = std::move(replay_of);
    r.replay_audit = std::move(audit);
    MutationRecord m;
    m.id = "M" + rid(n).substr(1);
    m.request_id = r.id;
    m.started_at_us = at;
    m.mutation_id = "mut-" + std::to_string(n);
    m.model = "Task";
    c.mutations.push_back(std::move(m));
    r.mutation_count = 1;
    return c;
}

ReplayAudit audit(long n) {
    ReplayAudit a;
    a.by = "ops@example.com #" + std::to_string(n);
    a.at_us = T0 + n * 7;
    a.mutation_id_map = {{"mut-a", "01JD3Z6Q8Y9V4K2M1N0P7R5S" + std::to_string(10 + n)}, {"mut-\"b\"", "x\\y"}};
    a.skipped = {{3, "mut-c", "values were redacted at capture (/payload/pin)"}};
    return a;
}

std::vector<std::string> ids_of(const std::vector<ReplayLink>& links) {
    std::vector<std::string> out;
    for (const auto& l : links) out.push_back(l.id);
    return out;
}

// Every page of list_replays, following next_cursor.
std::vector<ReplayLink> walk_replays(Storage& st, const std::string& original, std::size_t limit) {
    return test::walk_pages([&](const PageRequest& p) { return st.list_replays(original, p); }, limit);
}

}  // namespace

TEMPLATE_TEST_CASE("replay contract: replays list under their original with their audit", "[storage][contract][replay]",
                   TETHER_STORAGE_BACKENDS) {
    TestType fresh;
    Storage& st = *fresh.storage;
    // 1 is an original; 2, 3 (same time as 2) and 5 replay it, 4 replays 2 (a chain), 6 was
    // recorded by a host with replay_of only (no audit).
    st.write_batch({push(1, T0), push(2, T0 + 10, rid(1), audit(2)), push(3, T0 + 10, rid(1), audit(3))});
    st.write_batch({push(4, T0 + 20, rid(2), audit(4))});
    st.write_batch({push(5, T0 + 30, rid(1), audit(5)), push(6, T0 + 40, rid(1))});

    auto links = walk_replays(st, rid(1), 500);
    CHECK(ids_of(links) == std::vector<std::string>{rid(6), rid(5), rid(3), rid(2)});  // newest first, ties by id
    for (std::size_t limit : {1, 2, 3}) CHECK(ids_of(walk_replays(st, rid(1), limit)) == ids_of(links));

    const auto& two = links[3];
    CHECK(two.replay_of == rid(1));
    CHECK(two.started_at_us == T0 + 10);
    CHECK(two.http_status == 202);
    CHECK(two.outcome == RequestOutcome::ok);
    REQUIRE(two.audit);
    CHECK(*two.audit == audit(2));
    CHECK(links[2].outcome == RequestOutcome::conflict);
    CHECK(*links[2].audit == audit(3));
    CHECK_FALSE(links[0].audit);  // recorded without the ReplayEngine: linked, no audit

    CHECK(ids_of(walk_replays(st, rid(2), 10)) == std::vector<std::string>{rid(4)});
    CHECK(walk_replays(st, rid(4), 10).empty());
    CHECK(walk_replays(st, "no-such-request", 10).empty());

    // The replay's own detail carries its audit; list items and originals do not.
    auto r2 = st.get_request(rid(2));
    REQUIRE(r2);
    REQUIRE(r2->replay_audit);
    CHECK(*r2->replay_audit == audit(2));
    CHECK_FALSE(st.get_request(rid(1))->replay_audit);
    CHECK_FALSE(st.get_request(rid(6))->replay_audit);
    for (const auto& r : st.list_requests({}, {}).items) CHECK_FALSE(r.replay_audit);

    // An empty audit (no map, nothing skipped, anonymous caller) round-trips too.
    st.write_batch({push(7, T0 + 50, rid(1), ReplayAudit{})});
    CHECK(*st.get_request(rid(7))->replay_audit == ReplayAudit{});
}

TEMPLATE_TEST_CASE("replay contract: bad limits and cursors are InvalidArgument", "[storage][contract][replay]",
                   TETHER_STORAGE_BACKENDS) {
    TestType fresh;
    Storage& st = *fresh.storage;
    st.write_batch({push(1, T0), push(2, T0 + 1, rid(1), audit(2))});
    CHECK_THROWS_AS(st.list_replays(rid(1), {0, {}}), InvalidArgument);
    CHECK_THROWS_AS(st.list_replays(rid(1), {501, {}}), InvalidArgument);
    CHECK_THROWS_AS(st.list_replays(rid(1), {10, "not a cursor"}), InvalidArgument);
}

TEMPLATE_TEST_CASE("replay contract: an audit commits with its batch or not at all", "[storage][contract][replay]",
                   TETHER_STORAGE_BACKENDS) {
    TestType fresh;
    Storage& st = *fresh.storage;
    st.write_batch({push(1, T0)});
    auto dup = push(1, T0 + 5);  // duplicate request id: the whole batch fails
    CHECK_THROWS_AS(st.write_batch({push(2, T0 + 1, rid(1), audit(2)), dup}), StorageError);
    CHECK(st.list_replays(rid(1), {}).items.empty());
    CHECK_FALSE(st.get_request(rid(2)));
    st.write_batch({push(2, T0 + 1, rid(1), audit(2))});  // the same replay again, alone: fine
    CHECK(ids_of(st.list_replays(rid(1), {}).items) == std::vector<std::string>{rid(2)});
}

TEMPLATE_TEST_CASE("replay contract: retention takes a replay's link along, an original keeps its replays",
                   "[storage][contract][replay]", TETHER_STORAGE_BACKENDS) {
    TestType fresh;
    Storage& st = *fresh.storage;
    st.write_batch({push(1, T0), push(2, T0 + 10, rid(1), audit(2)), push(3, T0 + 20, rid(1), audit(3)),
                    push(4, T0 + 30, rid(3), audit(4))});
    RetentionPolicy keep3;
    keep3.max_requests = 3;
    CHECK(st.prune(keep3, T0, 10) == 1);  // the original goes first
    CHECK_FALSE(st.get_request(rid(1)));
    CHECK(ids_of(st.list_replays(rid(1), {}).items) == std::vector<std::string>{rid(3), rid(2)});

    RetentionPolicy keep1;
    keep1.max_requests = 1;
    CHECK(st.prune(keep1, T0, 10) == 2);  // both replays of 1
    CHECK(st.list_replays(rid(1), {}).items.empty());
    auto four = st.get_request(rid(4));  // the replay of a deleted replay keeps its audit
    REQUIRE(four);
    CHECK(*four->replay_audit == audit(4));
    CHECK(st.count_requests() == 1);
}
