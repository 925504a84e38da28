#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "tether/config.hpp"
#include "tether/errors.hpp"

using tether::Config;
using tether::ConfigError;

namespace {
// Runs from_json and returns the ConfigError it throws (fails the test if none).
ConfigError error_of(const std::string& json) {
    try {
        Config::from_json(json, "test.json");
    } catch (const ConfigError& e) {
        return e;
    }
    FAIL("expected a ConfigError for " << json);
    throw;
}
}  // namespace

TEST_CASE("config: defaults and a full document", "[config]") {
    Config d = Config::from_json("{}");
    CHECK(d.instance == "default");
    CHECK(d.recorder.overflow == tether::OverflowPolicy::drop_newest);
    CHECK(d.redaction.match == tether::KeyMatch::contains);
    CHECK(d.recorder.pull_payloads == tether::PullPayloads::index);

    Config c = Config::from_json(R"({
      "instance": "eu-1",
      "recorder": {"queue_max_items": 5, "queue_max_bytes": 1000, "overflow": "block", "block_timeout_ms": 3,
                   "max_body_bytes": 64, "batch_max_items": 2, "batch_max_bytes": 4096, "batch_max_delay_ms": 7, "retry_initial_ms": 1,
                   "retry_max_ms": 4, "retry_max_attempts": 9, "shutdown_timeout_ms": 100,
                   "pull_payloads": "full"},
      "redaction": {"keys": ["pin"], "extra_keys": ["ssn"], "marker": "***", "match": "exact", "invalid_body": "drop"},
      "retention": {"max_age_hours": 2, "max_requests": 10, "max_tracked_mutations": 7, "prune_batch": 3,
                    "prune_interval_ms": 50},
      "storage": {"url": "/tmp/x.db", "busy_timeout_ms": 10, "schema": "tether_eu_1"}
    })");
    CHECK(c.instance == "eu-1");
    CHECK(c.recorder.queue_max_items == 5);
    CHECK(c.recorder.overflow == tether::OverflowPolicy::block);
    CHECK(c.recorder.block_timeout.count() == 3);
    CHECK(c.recorder.retry_max_attempts == 9);
    CHECK(c.recorder.batch_max_bytes == 4096);
    CHECK(d.recorder.batch_max_bytes == 16u << 20);
    CHECK(c.recorder.pull_payloads == tether::PullPayloads::full);
    CHECK(c.redaction.keys == std::vector<std::string>{"pin", "ssn"});
    CHECK(c.redaction.marker == "***");
    CHECK(c.redaction.match == tether::KeyMatch::exact);
    CHECK(c.redaction.invalid_body == tether::InvalidBodyPolicy::drop);
    CHECK(c.retention.max_age.count() == 2);
    CHECK(c.retention.max_requests == 10);
    CHECK(c.retention.max_tracked_mutations == 7);
    CHECK(c.storage.url == "/tmp/x.db");
    CHECK(c.storage.schema == "tether_eu_1");
    CHECK(d.storage.schema == "tether");

    // to_json round-trips.
    Config again = Config::from_json(c.to_json());
    CHECK(again.to_json() == c.to_json());
}

TEST_CASE("config: extra_keys extends the defaults", "[config]") {
    Config c = Config::from_json(R"({"redaction": {"extra_keys": ["ssn"]}})");
    CHECK(c.redaction.keys.size() == tether::KeyRedactor::default_keys().size() + 1);
    CHECK(c.redaction.keys.back() == "ssn");
}

TEST_CASE("config: unknown keys and wrong types name the key and what was expected", "[config]") {
    auto e = error_of(R"({"recorder": {"queue_max_itmes": 5}})");
    CHECK(e.path() == "recorder.queue_max_itmes");
    CHECK_THAT(e.what(), Catch::Contains("unknown key") && Catch::Contains("queue_max_items"));

    e = error_of(R"({"recorder": {"queue_max_items": "5"}})");
    CHECK(e.path() == "recorder.queue_max_items");
    CHECK_THAT(e.what(), Catch::Contains("expected an integer >= 1") && Catch::Contains("got string"));

    e = error_of(R"({"recorder": {"queue_max_items": 0}})");
    CHECK(e.path() == "recorder.queue_max_items");

    e = error_of(R"({"recorder": {"overflow": "drop_oldest"}})");
    CHECK(e.path() == "recorder.overflow");
    CHECK_THAT(e.what(), Catch::Contains("\"drop_newest\" or \"block\"") && Catch::Contains("drop_oldest"));

    for (const char* bad : {R"("")", R"("Tether")", R"("1st")", R"("a-b")", R"("x; DROP SCHEMA public")"}) {
        e = error_of(std::string(R"({"storage": {"schema": )") + bad + "}}");
        CHECK(e.path() == "storage.schema");
        CHECK_THAT(e.what(), Catch::Contains("lowercase SQL identifier"));
    }

    e = error_of(R"({"recorder": {"pull_payloads": "none"}})");
    CHECK(e.path() == "recorder.pull_payloads");
    CHECK_THAT(e.what(), Catch::Contains("\"index\" or \"full\"") && Catch::Contains("none"));

    e = error_of(R"({"redaction": {"keys": ["a", 3]}})");
    CHECK(e.path() == "redaction.keys[1]");
    CHECK(e.expected() == "a string");

    e = error_of(R"({"retention": []})");
    CHECK(e.path() == "retention");
    CHECK(e.expected() == "an object");

    e = error_of(R"({"instance": ""})");
    CHECK(e.path() == "instance");

    e = error_of(R"({"recorder": {"retry_initial_ms": 100, "retry_max_ms": 10}})");
    CHECK(e.path() == "recorder.retry_max_ms");

    for (const char* bad : {"0", "-5", "\"16MB\"", "1.5"}) {
        e = error_of(std::string(R"({"recorder": {"batch_max_bytes": )") + bad + "}}");
        CHECK(e.path() == "recorder.batch_max_bytes");
        CHECK(e.expected() == "an integer >= 1");
    }

    e = error_of(R"({"recorder": {"max_body_bytes": -1}})");
    CHECK(e.path() == "recorder.max_body_bytes");
    CHECK_THAT(e.what(), Catch::Contains("got -1"));

    e = error_of("[1, 2]");
    CHECK(e.path() == "");
    CHECK(e.expected() == "an object");
}

TEST_CASE("config: invalid JSON reports file, line and column", "[config]") {
    auto e = error_of("{\n  \"instance\": \"a\",\n  oops\n}");
    CHECK(e.path() == "");
    CHECK_THAT(e.what(), Catch::Contains("test.json") && Catch::Contains("line 3") && Catch::Contains("column 3"));
}

TEST_CASE("config: from_file reads a file and reports a missing one", "[config]") {
    std::string path = "tether-config-test.json";
    {
        std::ofstream f(path);
        f << R"({"instance": "from-file"})";
    }
    CHECK(Config::from_file(path).instance == "from-file");
    std::remove(path.c_str());
    try {
        Config::from_file("/nonexistent/tether.json");
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Catch::Contains("/nonexistent/tether.json") && Catch::Contains("No such file"));
    }
    try {
        Config::from_file("/tmp");
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Catch::Contains("'/tmp' is a directory"));
    }
}

TEST_CASE("config: the replay section", "[config][replay]") {
    Config d = Config::from_json("{}");
    CHECK_FALSE(d.replay.live_enabled);  // live replay writes to the host's database: off by default
    CHECK(d.replay.token_ttl == std::chrono::minutes(10));
    CHECK(d.replay.record_timeout == std::chrono::seconds(10));

    Config c =
        Config::from_json(R"({"replay": {"live_enabled": true, "token_ttl_seconds": 30, "record_timeout_ms": 250}})");
    CHECK(c.replay.live_enabled);
    CHECK(c.replay.token_ttl.count() == 30);
    CHECK(c.replay.record_timeout.count() == 250);
    CHECK(Config::from_json(c.to_json()).to_json() == c.to_json());
    CHECK_THAT(d.to_json(),
               Catch::Contains(R"("replay":{"live_enabled":false,"token_ttl_seconds":600,"record_timeout_ms":10000})"));

    auto e = error_of(R"({"replay": {"live_enabled": "yes"}})");
    CHECK(e.path() == "replay.live_enabled");
    CHECK_THAT(e.what(), Catch::Contains("true or false") && Catch::Contains("got string"));
    e = error_of(R"({"replay": {"token_ttl_seconds": 0}})");
    CHECK(e.path() == "replay.token_ttl_seconds");
    e = error_of(R"({"replay": {"record_timeout_ms": -5}})");
    CHECK(e.path() == "replay.record_timeout_ms");
    e = error_of(R"({"replay": {"enabled": true}})");
    CHECK(e.path() == "replay.enabled");
    CHECK_THAT(e.what(), Catch::Contains("live_enabled"));

    Config bad;
    bad.replay.token_ttl = std::chrono::seconds(0);
    CHECK_THROWS_AS(bad.validate(), ConfigError);
}
