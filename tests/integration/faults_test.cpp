// Faults a passive observer must survive without hurting the host or losing what it already
// stored: a recording process killed with SIGKILL mid-ingest, a database that runs out of
// space, and a write lock held by another connection.
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "support/protocol.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;
using namespace std::chrono_literals;

namespace {

// A push of 1..7 mutations; some rejected, some conflicted, so that rollups, failure
// groups and conflict counts are all written by the batches.
Exchange varied_push(std::uint64_t n) {
    std::vector<test::TestMutation> ms;
    std::vector<std::string> applied;
    std::vector<test::Rejection> rejected;
    std::vector<test::Conflict> conflicts;
    static const char* models[] = {"Task", "Project", "Note"};
    for (std::uint64_t i = 0; i < 1 + n % 7; ++i) {
        test::TestMutation m;
        m.mutation_id = test::test_ulid(n * 10 + i, 'M');
        m.entity_id = test::test_ulid(n % 97 * 10 + i, 'E');
        m.model = models[(n + i) % 3];
        m.payload_json = R"({"title":"item )" + std::to_string(n) + R"(","password":"p-)" + std::to_string(n) + "\"}";
        if (n % 5 == 0 && i == 0)
            rejected.push_back({m.mutation_id});
        else if (n % 11 == 0 && i == 1)
            conflicts.push_back({m.mutation_id});
        else
            applied.push_back(m.mutation_id);
        ms.push_back(std::move(m));
    }
    Exchange ex;
    ex.kind = ExchangeKind::push;
    ex.client_id = "c-" + std::to_string(n % 13);
    ex.request_body = test::push_request(ex.client_id, ms);
    ex.response_body = test::push_response(applied, rejected, conflicts);
    ex.duration_us = 100 + static_cast<Micros>(n % 50);
    return ex;
}

Config keep_everything() {
    Config c;
    c.retention.max_age = std::chrono::hours(0);
    c.retention.max_requests = 0;
    c.retention.max_tracked_mutations = 0;
    return c;
}

// Records until killed; tells the parent (one byte on `ready`) once a batch is committed, so
// the kill lands while ingest is in full swing.
[[noreturn]] void record_until_killed(const std::string& path, int ready, std::uint64_t first) {
    try {
        Config config = keep_everything();
        config.recorder.batch_max_items = 64;
        config.recorder.overflow = OverflowPolicy::block;
        config.recorder.block_timeout = 1000ms;
        auto observer = Observer::builder().config(config).storage(open_sqlite_storage({path})).build();
        bool told = false;
        auto sub = observer->recorder().on_written([&](const std::vector<CapturedRequest>&) {
            if (!told && ::write(ready, "x", 1) == 1) told = true;
        });
        for (std::uint64_t n = first;; ++n) observer->recorder().record(varied_push(n));
    } catch (...) {
        ::_exit(3);
    }
}

struct Consistency {
    std::uint64_t requests = 0, mutation_rows = 0;
};

// Every visible request is whole (all of its mutation rows are there) and the rollups of the
// committed batches add up to exactly the stored rows, or to `rolled_up` requests when rows
// were pruned (retention never touches rollups).
Consistency check_consistent(const std::string& path, std::optional<std::uint64_t> rolled_up = std::nullopt) {
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE);  // read-write: WAL recovery may need to run
        CHECK(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
    }
    auto storage = open_sqlite_storage({path});
    Consistency seen;
    std::uint64_t declared_mutations = 0;
    PageRequest page{PageRequest::max_limit, {}};
    do {
        auto requests = storage->list_requests({}, page);
        for (const auto& r : requests.items) {
            ++seen.requests;
            declared_mutations += r.mutation_count;
            std::size_t rows = 0;
            PageRequest mp{PageRequest::max_limit, {}};
            do {
                auto ms = storage->list_mutations(r.id, {}, mp);
                rows += ms.items.size();
                mp.cursor = ms.next_cursor;
            } while (!mp.cursor.empty());
            if (rows != r.mutation_count) FAIL("request " << r.id << " has " << rows << " of its " << r.mutation_count << " mutation rows");
            seen.mutation_rows += rows;
        }
        page.cursor = requests.next_cursor;
    } while (!page.cursor.empty());
    CHECK(storage->count_requests() == seen.requests);
    CHECK(storage->count_mutations() == seen.mutation_rows);

    std::uint64_t rolled_requests = 0, rolled_mutations = 0;
    for (const auto& r : storage->read_rollups(five_minutes_us, 0, LLONG_MAX / 2, "", false)) {
        rolled_requests += r.requests;
        rolled_mutations += r.mutations;
    }
    if (rolled_up) {
        CHECK(rolled_requests == *rolled_up);
    } else {
        CHECK(rolled_requests == seen.requests);
        CHECK(rolled_mutations == declared_mutations);
    }
    return seen;
}

}  // namespace

TEST_CASE("faults: SIGKILL at random points of ingest, 20 times: the database opens, is intact and consistent",
          "[faults][crash]") {
    test::TempDir dir;
    const std::string path = dir.file("crash.db");
    std::mt19937 rng(20261126);
    Consistency before;
    int grew = 0;
    for (int round = 0; round < 20; ++round) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            ::close(fds[0]);
            record_until_killed(path, fds[1], static_cast<std::uint64_t>(round + 1) * 1'000'000);
        }
        ::close(fds[1]);
        char byte = 0;
        const bool committed = ::read(fds[0], &byte, 1) == 1;  // blocks until the first commit
        ::close(fds[0]);
        // Anywhere in the next 0-150 ms: mid-transaction, mid-checkpoint, between batches.
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 150'000)(rng)));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        INFO("round " << round);
        REQUIRE(committed);  // the child recorded before it died (exit 3 would mean it failed to start)
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGKILL);
        const Consistency after = check_consistent(path);
        CHECK(after.requests >= before.requests);  // nothing committed is ever lost
        grew += after.requests > before.requests;
        before = after;
    }
    CHECK(grew == 20);
    std::printf("crash safety: %d/20 SIGKILLed recorders recovered intact; %llu requests, %llu mutation rows\n", grew,
                static_cast<unsigned long long>(before.requests), static_cast<unsigned long long>(before.mutation_rows));
    // The survivor keeps working: a normal process records on top of what the crashes left.
    auto observer = Observer::builder().config(keep_everything()).storage(open_sqlite_storage({path})).build();
    for (std::uint64_t n = 0; n < 100; ++n) observer->recorder().record(varied_push(n));
    REQUIRE(observer->recorder().flush());
    CHECK(observer->storage().count_requests() == before.requests + 100);
}

TEST_CASE("faults: a full database drops with a reason, never blocks the host, and recovers when space returns",
          "[faults][disk]") {
    test::TempDir dir;
    const std::string path = dir.file("full.db");
    Config config = keep_everything();
    config.recorder.retry_initial = 1ms;
    config.recorder.retry_max = 2ms;
    config.recorder.retry_max_attempts = 3;
    config.recorder.batch_max_items = 16;
    SqliteOptions options{path};
    options.page_size = 4096;
    options.max_page_count = 400;  // 1.6 MB: a disk that fills up quickly
    auto observer = Observer::builder().config(config).storage(open_sqlite_storage(options)).build();
    auto& recorder = observer->recorder();

    // The host keeps pushing; every call returns at once whether or not storage has room.
    std::uint64_t n = 0;
    const auto fill = [&](std::uint64_t count) {
        for (std::uint64_t i = 0; i < count; ++i) recorder.record(varied_push(n++));
        return recorder.flush();
    };
    REQUIRE(test::eventually([&] {
        fill(200);
        return recorder.stats().dropped_storage_error > 0;
    }, 60s));
    const auto full = recorder.stats();
    CHECK(full.storage_errors > 0);
    CHECK(full.dropped == full.dropped_storage_error);  // counted with its reason, nothing else lost
    CHECK(full.offered == full.written + full.dropped);

    // The dashboard's documents show the condition.
    const auto metrics = observer->metrics();
    CHECK(metrics.recorder.dropped_storage_error == full.dropped_storage_error);
    CHECK(observer->openmetrics().find("reason=\"storage_error\"") != std::string::npos);

    // Everything that was stored is intact.
    const std::uint64_t stored = observer->storage().count_requests();
    CHECK(stored == full.written);

    // Retention frees space (the same prune the writer runs): recording resumes.
    RetentionPolicy keep_few;
    keep_few.max_requests = stored / 4;
    while (observer->storage().prune(keep_few, observer->clock().now_us(), 500) == 500) {
    }
    const auto written_before = recorder.stats().written;
    REQUIRE(fill(20));
    const auto resumed = recorder.stats();
    CHECK(resumed.written == written_before + 20);
    CHECK(resumed.dropped_storage_error == full.dropped_storage_error);
    const auto after = check_consistent(path, resumed.written);
    CHECK(after.requests == keep_few.max_requests + 20);
    std::printf("full disk: %llu offered, %llu written, %llu dropped (storage_error), %llu failed attempts; "
                "resumed after pruning to %llu requests\n",
                static_cast<unsigned long long>(full.offered), static_cast<unsigned long long>(full.written),
                static_cast<unsigned long long>(full.dropped_storage_error),
                static_cast<unsigned long long>(full.storage_errors),
                static_cast<unsigned long long>(keep_few.max_requests));
}

TEST_CASE("faults: a write lock held by another connection never blocks the host", "[faults][lock]") {
    test::TempDir dir;
    const std::string path = dir.file("locked.db");
    Config config = keep_everything();
    config.recorder.retry_max_attempts = 1000;  // however long a loaded machine keeps the lock
    auto observer = Observer::builder().config(config).storage(open_sqlite_storage({path})).build();
    auto& recorder = observer->recorder();
    recorder.record(varied_push(0));
    REQUIRE(recorder.flush());

    SQLite::Database other(path, SQLite::OPEN_READWRITE);
    // The writer's retention pass may hold the lock for a moment after flush(): wait for it,
    // as any other process would (without a timeout BEGIN fails at once with "locked").
    other.setBusyTimeout(30'000);
    other.exec("BEGIN IMMEDIATE");  // another process holding the write lock
    other.exec("INSERT INTO schema_version SELECT * FROM schema_version WHERE 0");
    // While it holds the lock, the host records 1000 exchanges; each call returns at once.
    for (std::uint64_t n = 1; n <= 1000; ++n) CHECK(recorder.record(varied_push(n)));
    CHECK(recorder.stats().accepted == 1001);
    // The writer really is stuck behind the lock (not merely idle) before it is released.
    REQUIRE(test::eventually([&] {
        const auto s = recorder.stats();
        return s.in_flight > 0 || s.storage_errors > 0;
    }));
    CHECK(recorder.stats().written == 1);
    other.exec("ROLLBACK");

    REQUIRE(recorder.flush(120s));
    const auto s = recorder.stats();
    INFO("written " << s.written << ", dropped " << s.dropped << ", storage errors " << s.storage_errors);
    CHECK(s.written == 1001);
    CHECK(s.dropped == 0);
    CHECK(observer->storage().count_requests() == 1001);
}
