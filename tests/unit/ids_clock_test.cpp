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

TEST_CASE("clock: ISO-8601 parsing accepts what people type and round-trips the formatter", "[clock]") {
    using tether::parse_iso8601;
    CHECK(parse_iso8601("2024-11-25T02:00:00.123456Z") == 1'732'500'000'123'456);
    CHECK(parse_iso8601("2024-11-25T02:00:00Z") == 1'732'500'000'000'000);
    CHECK(parse_iso8601("2024-11-25T02:00Z") == 1'732'500'000'000'000);
    CHECK(parse_iso8601("2024-11-25 02:00:00.5Z") == 1'732'500'000'500'000);
    CHECK(parse_iso8601("2024-11-25T03:00:00+01:00") == 1'732'500'000'000'000);
    CHECK(parse_iso8601("2024-11-24T21:30:00-04:30") == 1'732'500'000'000'000);
    CHECK(parse_iso8601("2024-02-29T00:00:00Z").has_value());
    CHECK(parse_iso8601("1969-12-31T23:59:59.999999Z") == -1);
    for (tether::Micros t : {tether::Micros{0}, tether::Micros{1'732'500'000'123'456}, tether::Micros{-86'400'000'001}})
        CHECK(parse_iso8601(tether::format_iso8601(t)) == t);
    // Ambiguous, impossible or malformed.
    for (const char* bad : {"", "2024-11-25", "2024-11-25T02:00:00", "2024-11-25T02:00:00.Z", "2024-11-25T02:00:00.1234567Z",
                            "2023-02-29T00:00Z", "2024-13-01T00:00Z", "2024-04-31T00:00Z", "2024-11-25T24:00Z",
                            "2024-11-25T02:60Z", "2024-11-25T02:00:00Zjunk", "2024-11-25T02:00+0100", "24-11-25T02:00Z",
                            "2024-11-25T02:00:00+25:00", "１９70-01-01T00:00Z"})
        CHECK_FALSE(parse_iso8601(bad).has_value());
}
