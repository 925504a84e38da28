#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "tether/clock.hpp"
#include "tether/ids.hpp"

TEST_CASE("ulid: format, validity and monotonic order within one millisecond", "[ids]") {
    tether::ManualClock clock(1'732'500'000'123'000);
    tether::UlidGenerator gen(clock, 42);
    std::string prev;
    std::set<std::string> seen;
    for (int i = 0; i < 10'000; ++i) {  // all in the same millisecond
        auto id = gen.next();
        REQUIRE(tether::is_valid_ulid(id));
        REQUIRE(id > prev);
        prev = id;
        seen.insert(id);
    }
    CHECK(seen.size() == 10'000);
    // Time prefix encodes the millisecond: a later clock gives a larger prefix.
    auto a = gen.next();
    clock.advance(1000);
    auto b = gen.next();
    CHECK(b.substr(0, 10) > a.substr(0, 10));
    // Clock going backwards never reorders ids.
    clock.advance(-5'000'000);
    CHECK(gen.next() > b);
}

TEST_CASE("ulid: known encoding and validation", "[ids]") {
    CHECK(tether::encode_ulid(0, 0, 0) == "00000000000000000000000000");
    CHECK(tether::encode_ulid((1ull << 48) - 1, 0xffff, ~0ull) == "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    CHECK(tether::encode_ulid(1469918176385ull, 0, 0).substr(0, 10) == "01ARYZ6S41");
    CHECK_FALSE(tether::is_valid_ulid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
    CHECK_FALSE(tether::is_valid_ulid("01ARYZ6S41"));
    CHECK_FALSE(tether::is_valid_ulid("01ARYZ6S41IIIIIIIIIIIIIIII"));
    CHECK(tether::is_valid_ulid("01JD3Z6Q8Y9V4K2M1N0P7R5S3T"));
}

TEST_CASE("ulid: unique across threads", "[ids]") {
    tether::SystemClock clock;
    tether::UlidGenerator gen(clock);
    std::vector<std::string> a, b;
    std::thread t([&] { for (int i = 0; i < 5000; ++i) a.push_back(gen.next()); });
    for (int i = 0; i < 5000; ++i) b.push_back(gen.next());
    t.join();
    std::set<std::string> all(a.begin(), a.end());
    all.insert(b.begin(), b.end());
    CHECK(all.size() == 10'000);
}

TEST_CASE("clock: ISO-8601 formatting with microseconds", "[clock]") {
    CHECK(tether::format_iso8601(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(tether::format_iso8601(1'732'500'000'123'456) == "2024-11-25T02:00:00.123456Z");
    CHECK(tether::format_iso8601(-1) == "1969-12-31T23:59:59.999999Z");
    tether::ManualClock m(10);
    m.advance(5);
    CHECK(m.now_us() == 15);
    CHECK(m.steady_us() == 15);
}
