// The Recorder's queue, writer, accounting and failure handling, on memory storage.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <vector>
#include <thread>

#include "support/faulty_storage.hpp"
#include "support/protocol.hpp"
#include "support/wait.hpp"
#include "tether/observer.hpp"

using namespace tether;
using namespace std::chrono_literals;

namespace {

struct Rig {
    std::shared_ptr<test::FaultyStorage> storage = std::make_shared<test::FaultyStorage>(make_memory_storage());
    std::shared_ptr<test::CollectingErrorHandler> errors = std::make_shared<test::CollectingErrorHandler>();
    std::unique_ptr<Observer> observer;

    explicit Rig(Config config = {}) {
        config.recorder.retry_initial = 1ms;
        config.recorder.retry_max = 5ms;
        observer = Observer::builder().config(config).storage(storage).error_handler(errors).build();
    }
    Recorder& rec() { return observer->recorder(); }
};

void check_accounting(const RecorderStats& s) {
    CHECK(s.offered == s.written + s.dropped + s.queued + s.in_flight);
    CHECK(s.dropped == s.dropped_queue_full + s.dropped_too_large + s.dropped_storage_error + s.dropped_shutdown);
}

}  // namespace

TEST_CASE("recorder: records, flushes and counts", "[recorder]") {
    Rig rig;
    for (int i = 0; i < 100; ++i) CHECK(rig.rec().record(test::sample_push("c" + std::to_string(i % 7), 3, i)));
    REQUIRE(rig.rec().flush(10s));
    auto s = rig.rec().stats();
    CHECK(s.offered == 100);
    CHECK(s.accepted == 100);
    CHECK(s.written == 100);
    CHECK(s.dropped == 0);
    CHECK(s.queued == 0);
    CHECK(s.queued_bytes == 0);
    CHECK(s.batches >= 1);
    CHECK(rig.storage->count_requests() == 100);
    CHECK(rig.storage->count_mutations() == 300);
    check_accounting(s);
}

TEST_CASE("recorder: a batch is full at batch_max_items or at batch_max_bytes, whichever comes first", "[recorder]") {
    Config c;
    c.recorder.batch_max_items = 100;
    c.recorder.batch_max_delay = 10s;  // only a full batch (or flush) starts a write
    SECTION("bytes") {
        c.recorder.batch_max_bytes = 250'000;
        Rig rig(c);
        for (int i = 0; i < 10; ++i) {
            auto ex = test::sample_push("c", 1, i);
            ex.response_body.append(100'000, ' ');  // ~100 KB each: three make a batch
            CHECK(rig.rec().record(std::move(ex)));
        }
        REQUIRE(rig.rec().flush(10s));
        const auto s = rig.rec().stats();
        CHECK(s.written == 10);
        CHECK(s.batches >= 4);  // at most three exchanges per transaction
    }
    SECTION("items") {
        c.recorder.batch_max_items = 5;
        Rig rig(c);
        for (int i = 0; i < 5; ++i) CHECK(rig.rec().record(test::sample_push("c", 1, i)));
        // The fifth exchange fills the batch and wakes the writer: no flush, no 10 s delay.
        REQUIRE(test::eventually([&] { return rig.rec().stats().written == 5; }, 10s));
        CHECK(rig.rec().stats().batches == 1);
    }
}

TEST_CASE("recorder: drop_newest overflow keeps offered == written + dropped exactly", "[recorder]") {
    Config c;
    c.recorder.queue_max_items = 8;
    c.recorder.batch_max_items = 4;
    Rig rig(c);
    rig.storage->write_delay_ms = 2;  // storage slower than the producers
    std::atomic<int> accepted{0};
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t)
        producers.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i)
                if (rig.rec().record(test::sample_push("c", 1, t * 1000 + i))) ++accepted;
        });
    for (auto& p : producers) p.join();
    REQUIRE(rig.rec().flush(30s));
    auto s = rig.rec().stats();
    CHECK(s.offered == 2000);
    CHECK(s.dropped_queue_full > 0);
    CHECK(s.written == static_cast<std::uint64_t>(accepted.load()));
    CHECK(s.offered == s.written + s.dropped);
    CHECK(rig.storage->count_requests() == s.written);
    check_accounting(s);
}

TEST_CASE("recorder: block overflow waits for room, then drops after the timeout", "[recorder]") {
    Config c;
    c.recorder.queue_max_items = 2;
    c.recorder.batch_max_items = 2;
    c.recorder.overflow = OverflowPolicy::block;

    SECTION("a writer that keeps up: producers wait for room and nothing is dropped") {
        c.recorder.block_timeout = 30s;  // generous: a loaded CI machine may stall the writer for a while
        Rig rig(c);
        rig.storage->write_delay_ms = 1;
        for (int i = 0; i < 50; ++i) CHECK(rig.rec().record(test::sample_push("c", 1, i)));
        REQUIRE(rig.rec().flush(10s));
        auto s = rig.rec().stats();
        CHECK(s.written == 50);
        CHECK(s.dropped == 0);
    }
    SECTION("a stalled storage: producers wait block_timeout (20 ms) and then drop") {
        c.recorder.block_timeout = 20ms;
        Rig rig(c);
        rig.storage->write_delay_ms = 400;
        int dropped = 0;
        for (int i = 0; i < 10; ++i)
            if (!rig.rec().record(test::sample_push("c", 1, 100 + i))) ++dropped;
        CHECK(dropped > 0);
        REQUIRE(rig.rec().flush(30s));
        auto s = rig.rec().stats();
        CHECK(s.offered == s.written + s.dropped);
        CHECK(s.dropped_queue_full == static_cast<std::uint64_t>(dropped));
    }
}

TEST_CASE("recorder: oversized bodies are truncated, oversized exchanges dropped", "[recorder]") {
    Config c;
    c.recorder.max_body_bytes = 64;
    c.recorder.queue_max_bytes = 4096;
    Rig rig(c);
    auto ex = test::sample_push("c", 5, 1);
    REQUIRE(ex.request_body.size() > 64);
    CHECK(rig.rec().record(std::move(ex)));

    Exchange huge;  // headers are not truncated: this one cannot fit in the queue at all
    huge.headers.push_back({"X-Big", std::string(10'000, 'x')});
    CHECK_FALSE(rig.rec().record(std::move(huge)));
    REQUIRE(rig.rec().flush(10s));
    auto s = rig.rec().stats();
    CHECK(s.truncated == 1);
    CHECK(s.dropped_too_large == 1);
    CHECK(s.written == 1);
    auto page = rig.storage->list_requests({}, {});
    REQUIRE(page.items.size() == 1);
    auto r = rig.storage->get_request(page.items[0].id);
    REQUIRE(r);
    CHECK(r->request_truncated);
    CHECK(r->request_body.size() <= 64);
    CHECK(r->request_parse_error);
    CHECK(r->outcome == RequestOutcome::error);
}

TEST_CASE("recorder: storage that fails and recovers never affects the host", "[recorder][faults]") {
    Config c;
    c.recorder.retry_max_attempts = 3;
    c.recorder.batch_max_items = 10;
    Rig rig(c);

    SECTION("transient failures are retried and nothing is lost") {
        rig.storage->fail_next = 2;
        for (int i = 0; i < 20; ++i) CHECK(rig.rec().record(test::sample_push("c", 2, i)));
        REQUIRE(rig.rec().flush(10s));
        auto s = rig.rec().stats();
        CHECK(s.written == 20);
        CHECK(s.dropped == 0);
        CHECK(s.storage_errors == 2);
        REQUIRE(rig.errors->count() == 2);
        CHECK(rig.errors->events[0].will_retry);
        CHECK(rig.errors->events[0].attempt == 1);
        CHECK(rig.errors->events[0].source == ErrorSource::storage);
        CHECK_THAT(rig.errors->events[0].message, Catch::Contains("injected failure"));
    }
    SECTION("an outage longer than the retries drops batches, counted, then recording resumes") {
        rig.storage->failing = true;
        for (int i = 0; i < 30; ++i) CHECK(rig.rec().record(test::sample_push("c", 2, i)));  // host unaffected
        REQUIRE(rig.rec().flush(10s));
        auto during = rig.rec().stats();
        CHECK(during.written == 0);
        CHECK(during.dropped_storage_error == 30);
        CHECK(during.storage_errors >= 3);
        rig.storage->failing = false;
        for (int i = 0; i < 30; ++i) CHECK(rig.rec().record(test::sample_push("c", 2, 100 + i)));
        REQUIRE(rig.rec().flush(10s));
        auto after = rig.rec().stats();
        CHECK(after.written == 30);
        CHECK(after.offered == after.written + after.dropped);
        CHECK(rig.storage->count_requests() == 30);
        bool reported_drop = false;
        for (const auto& e : rig.errors->events) reported_drop = reported_drop || (!e.will_retry && e.dropped > 0);
        CHECK(reported_drop);
    }
    SECTION("permanent errors are not retried") {
        rig.storage->failing = true;
        rig.storage->permanent = true;
        rig.rec().record(test::sample_push("c", 1, 1));
        REQUIRE(rig.rec().flush(10s));
        CHECK(rig.rec().stats().storage_errors == 1);
        CHECK(rig.rec().stats().dropped_storage_error == 1);
    }
}

TEST_CASE("recorder: shutdown drains, later records are dropped as shutdown", "[recorder]") {
    Rig rig;
    for (int i = 0; i < 50; ++i) rig.rec().record(test::sample_push("c", 1, i));
    CHECK(rig.rec().shutdown(10s));
    CHECK(rig.rec().stats().written == 50);
    CHECK_FALSE(rig.rec().record(test::sample_push("c", 1, 999)));
    auto s = rig.rec().stats();
    CHECK(s.dropped_shutdown == 1);
    CHECK(s.offered == s.written + s.dropped);
    CHECK(rig.rec().shutdown(1s));  // idempotent
    CHECK(rig.rec().flush(1s));
}

TEST_CASE("recorder: a shutdown that times out drops what is left, counted", "[recorder]") {
    Config c;
    c.recorder.batch_max_items = 1;
    Rig rig(c);
    rig.storage->write_delay_ms = 50;
    for (int i = 0; i < 40; ++i) rig.rec().record(test::sample_push("c", 1, i));
    CHECK_FALSE(rig.rec().shutdown(100ms));
    auto s = rig.rec().stats();
    CHECK(s.dropped_shutdown > 0);
    CHECK(s.queued == 0);
    CHECK(s.offered == s.written + s.dropped);
}

TEST_CASE("recorder: RequestScope times and records the request", "[recorder]") {
    auto clock = std::make_shared<ManualClock>(1'732'500'000'000'000);
    auto storage = make_memory_storage();
    auto obs = Observer::builder().clock(clock).storage(storage).build();
    {
        RequestScope scope(obs->recorder(), ExchangeKind::pull);
        scope->request_body = test::pull_request("c1", std::nullopt);
        scope->response_body = test::pull_response({"Task"}, 5, false);
        clock->advance(2500);
    }
    {
        RequestScope cancelled(obs->recorder(), ExchangeKind::push);
        cancelled.cancel();
    }
    REQUIRE(obs->recorder().flush(10s));
    auto page = storage->list_requests({}, {});
    REQUIRE(page.items.size() == 1);
    CHECK(page.items[0].kind == ExchangeKind::pull);
    CHECK(page.items[0].duration_us == 2500);
    CHECK(page.items[0].started_at_us == 1'732'500'000'000'000);
    CHECK(page.items[0].client_id == "c1");
    CHECK(obs->recorder().stats().offered == 1);
}

TEST_CASE("recorder: retention prunes by count and by age in the background", "[recorder][retention]") {
    auto clock = std::make_shared<ManualClock>(1'732'500'000'000'000);
    auto storage = make_memory_storage();
    Config c;
    c.retention.max_requests = 10;
    c.retention.max_age = std::chrono::hours(1);
    c.retention.prune_batch = 3;
    c.retention.prune_interval = 1ms;
    c.recorder.batch_max_delay = 1ms;
    auto obs = Observer::builder().config(c).clock(clock).storage(storage).build();
    for (int i = 0; i < 25; ++i) {
        auto ex = test::sample_push("c", 1, i);
        ex.started_at_us = clock->now_us() + i;
        obs->recorder().record(std::move(ex));
    }
    REQUIRE(obs->recorder().flush(10s));
    clock->advance(1000);  // let the prune interval elapse on the manual clock
    REQUIRE(test::eventually([&] { return storage->count_requests() == 10; }));
    auto page = storage->list_requests({}, {});
    CHECK(page.items.back().started_at_us == 1'732'500'000'000'000 + 15);  // the oldest were pruned
    clock->advance(2LL * 3600 * 1'000'000);  // everything is now older than max_age
    REQUIRE(test::eventually([&] { return storage->count_requests() == 0; }));
    CHECK(obs->recorder().stats().pruned == 25);
}

TEST_CASE("recorder: a permanent error costs only the offending exchange, not its batch", "[recorder][faults]") {
    Config c;
    c.recorder.batch_max_items = 50;
    Rig rig(c);
    for (int i = 0; i < 20; ++i) {
        auto ex = test::sample_push("c", 1, static_cast<std::uint64_t>(i));
        if (i == 3 || i == 7) ex.id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3A";  // the host reused an id
        rig.rec().record(std::move(ex));
    }
    REQUIRE(rig.rec().flush(10s));
    auto s = rig.rec().stats();
    CHECK(s.written == 19);
    CHECK(s.dropped_storage_error == 1);
    CHECK(rig.storage->count_requests() == 19);
    CHECK(s.offered == s.written + s.dropped);
    bool explained = false;
    for (const auto& e : rig.errors->events)
        explained = explained || (e.message.find("request(s) could not be stored") != std::string::npos);
    CHECK(explained);
}

TEST_CASE("recorder: write listeners hear every committed request until unsubscribed", "[recorder]") {
    auto observer = Observer::builder().build();
    auto& rec = observer->recorder();
    std::mutex m;
    std::vector<std::string> heard;
    auto subscription = rec.on_written([&](const std::vector<CapturedRequest>& stored) {
        std::lock_guard lock(m);
        for (const auto& c : stored) heard.push_back(c.request.id);
    });
    auto throwing = rec.on_written([](const std::vector<CapturedRequest>&) { throw std::runtime_error("listener bug"); });
    for (std::uint64_t i = 0; i < 20; ++i) rec.record(test::sample_push("c-1", 1, i));
    REQUIRE(rec.flush());
    {
        std::lock_guard lock(m);
        CHECK(heard.size() == 20);  // a throwing listener neither stops the others nor the writer
    }
    CHECK(rec.stats().written == 20);

    subscription.reset();
    CHECK_FALSE(subscription);
    rec.record(test::sample_push("c-1", 1, 99));
    REQUIRE(rec.flush());
    std::lock_guard lock(m);
    CHECK(heard.size() == 20);
}

TEST_CASE("recorder: a subscription may outlive its recorder", "[recorder]") {
    Subscription subscription;
    {
        auto observer = Observer::builder().build();
        subscription = observer->recorder().on_written([](const std::vector<CapturedRequest>&) {});
        CHECK(subscription);
    }
    subscription.reset();  // the registry is gone: nothing to do, nothing to crash
    CHECK_FALSE(subscription);
}

TEST_CASE("retention policy: limits, excess and a saturating age cutoff", "[recorder][retention]") {
    RetentionPolicy p;
    CHECK_FALSE(p.limits_requests());
    CHECK(p.excess_requests(100) == 0);
    CHECK_FALSE(p.age_cutoff(1'000));
    p.max_requests = 10;
    CHECK(p.limits_requests());
    CHECK(p.excess_requests(9) == 0);
    CHECK(p.excess_requests(25) == 15);
    p = {};
    p.max_age_us = 300;
    CHECK(p.limits_requests());
    CHECK(p.age_cutoff(1'000) == 700);
    p.max_age_us = INT64_MAX;
    CHECK(p.age_cutoff(-2) == INT64_MIN);  // -2 - INT64_MAX would overflow
    p.max_tracked_mutations = 5;
    p.max_age_us = 0;
    CHECK_FALSE(p.limits_requests());  // tracked mutations are not requests
}
