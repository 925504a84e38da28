// Bugs the fuzzers found (fuzz/README.md), one test each; the crashing inputs themselves are
// replayed by scripts/fuzz from fuzz/regressions/<target>/.
#include <catch2/catch.hpp>
#include <cmath>

#include "detail/json.hpp"
#include "support/json_patch.hpp"
#include "tether/config.hpp"
#include "tether/differ.hpp"
#include "tether/errors.hpp"
#include "tether/observer.hpp"
#include "tether/redactor.hpp"

using namespace tether;
namespace json = boost::json;

namespace {

// The host's database, holding what capture redacts.
class SecretState final : public StateReader {
public:
    std::optional<EntityState> current(std::string_view, std::string_view) override {
        return EntityState{R"({"title":"Server","password":"db-SECRET","pin":"1234-SECRET","n":1})", 0};
    }
    bool was_applied(std::string_view) override { return false; }
};

ConfigError config_error(const char* text) {
    try {
        Config::from_json(text);
    } catch (const ConfigError& e) {
        return e;
    }
    FAIL("accepted: " << text);
    return ConfigError("", "");
}

}  // namespace

// fuzz/regressions/differ/number-beyond-double-range: Boost.JSON reads 1e400 as infinity, which
// was written back as null, so the patch turned the number into null.
TEST_CASE("fuzz regression: numbers beyond the double range survive diffs, patches and redaction",
          "[fuzz][differ][redactor]") {
    CHECK(json_patch("null", "1e400") == R"([{"op":"replace","path":"","value":1e999}])");
    CHECK(json_patch("[1]", "[-1e400]") == R"([{"op":"replace","path":"/0","value":-1e999}])");
    const auto changes = diff_json(R"({"a":1})", R"({"a":1e400})");
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].to == "1e999");

    const auto patched = test::apply_patch(json::parse(R"({"a":null})"), json_patch(R"({"a":null})", R"({"a":1e400})"));
    REQUIRE(patched.at("a").is_double());
    CHECK(std::isinf(patched.at("a").get_double()));
    CHECK(diff_json("1e400", "1e999").empty());  // the same number, as the parser reads it

    auto red = redact_json(KeyRedactor(), R"({"password":"x","big":1e400,"small":-1e400})");
    CHECK(red.text == R"({"password":"[REDACTED]","big":1e999,"small":-1e999})");
}

// fuzz/regressions/differ/zero-with-huge-exponent-is-nan: Boost.JSON 1.81 reads 0e400 as NaN
// (0 x inf); it was written as null and never compared equal to itself.
TEST_CASE("fuzz regression: a zero with a huge exponent is zero", "[fuzz][differ]") {
    CHECK(diff_json("[0e400]", "[0e400]").empty());
    CHECK(diff_json("[-0e+999]", "[0]").empty());
    CHECK(diff_json(R"({"a":0e999})", R"({"a":0.0})").empty());
    CHECK(json_patch("[1]", "[0e999]") == R"([{"op":"replace","path":"/0","value":0.0}])");
    CHECK(redact_json(KeyRedactor(), R"({"token":1,"z":0e999})").text == R"({"token":"[REDACTED]","z":0.0})");
}

// fuzz/regressions/config/duration-overflows-microseconds and …/duration-too-long-for-nanoseconds:
// durations were accepted up to 2^63 units and overflowed when the library converted them
// (retention.max_age_hours to microseconds, waits to nanoseconds, token expiry = now + ttl).
TEST_CASE("fuzz regression: durations too long for time arithmetic are configuration errors", "[fuzz][config]") {
    CHECK(config_error(R"({"retention": {"max_age_hours": 9223372036854775807}})").path() == "retention.max_age_hours");
    CHECK(config_error(R"({"replay": {"token_ttl_seconds": 9223372036854775}})").path() == "replay.token_ttl_seconds");
    CHECK(config_error(R"({"recorder": {"batch_max_delay_ms": 9223372036854}})").path() ==
          "recorder.batch_max_delay_ms");
    const auto e = config_error(R"({"telemetry": {"retention_hours": 1e18}})");
    CHECK(e.path() == "telemetry.retention_hours");
    CHECK_THAT(e.what(), Catch::Contains("an integer from 1 to"));

    // A century is fine, and every accepted duration still fits in nanoseconds.
    Config c = Config::from_json(
        R"({"retention": {"max_age_hours": 876600}, "replay": {"token_ttl_seconds": 3155760000},
            "recorder": {"shutdown_timeout_ms": 3155760000000}})");
    CHECK(c.retention.max_age.count() == 876600);
    CHECK(std::chrono::duration_cast<std::chrono::nanoseconds>(c.replay.token_ttl).count() > 0);
    CHECK(Config::from_json(c.to_json()).to_json() == c.to_json());
}

// fuzz/regressions/config/value-wraps-in-narrow-type: values were cast to int / uint32 members
// without a range check, so 4294967301 retry attempts silently became 5.
TEST_CASE("fuzz regression: integers that do not fit their setting are errors, not wrapped", "[fuzz][config]") {
    CHECK(config_error(R"({"recorder": {"retry_max_attempts": 4294967301}})").path() == "recorder.retry_max_attempts");
    CHECK(config_error(R"({"recorder": {"retry_max_attempts": 2147483648}})").path() == "recorder.retry_max_attempts");
    CHECK(config_error(R"({"failures": {"stuck_after_pushes": 4294967299}})").path() == "failures.stuck_after_pushes");
    CHECK(config_error(R"({"failures": {"poison_after_failures": 4294967296}})").path() ==
          "failures.poison_after_failures");

    Config c = Config::from_json(R"({"recorder": {"retry_max_attempts": 2147483647},
                                     "failures": {"stuck_after_pushes": 4294967295}})");
    CHECK(c.recorder.retry_max_attempts == 2147483647);
    CHECK(c.failures.stuck_after_pushes == 4294967295u);
}

// fuzz/regressions/config/zero-with-huge-exponent: "-0e830" was read as NaN, which every range
// check let through; to_json() then wrote the zero it is, and that document was refused.
TEST_CASE("fuzz regression: a zero with a huge exponent is a zero setting", "[fuzz][config]") {
    CHECK(config_error(R"({"telemetry": {"failing_p95_ms": -0e830}})").path() == "telemetry.degraded_p95_ms");
    Config c = Config::from_json(R"({"telemetry": {"degraded_p95_ms": 0e400, "degraded_conflict_rate": 0e999}})");
    CHECK(c.telemetry.degraded_p95_ms == 0.0);
    CHECK(c.telemetry.degraded_conflict_rate == 0.0);
    CHECK(Config::from_json(c.to_json()).telemetry.degraded_p95_ms == 0.0);
}

// fuzz/regressions/dashboard/replay-preview-shows-host-secrets: the preview showed the host's
// current record (StateReader) unredacted, in current_state and in the diff against the
// captured payload, so the dashboard served a password the capture had redacted.
TEST_CASE("fuzz regression: replay previews redact the host's current records", "[fuzz][replay]") {
    Config config;
    config.redaction.keys.push_back("pin");
    auto observer = Observer::builder().config(config).state_reader(std::make_shared<SecretState>()).build();
    Exchange ex;
    ex.id = "01JD3Z6Q8YR000000000000001";
    ex.request_body = R"({"client_id":"c1","mutations":[{"mutation_id":"01JD3Z6Q8YM000000000000001",)"
                      R"("entity_id":"01JD3Z6Q8YE000000000000001","model":"Task","operation":"update",)"
                      R"("payload":{"title":"Client","password":"client-SECRET"},"version":2,"timestamp":1}]})";
    ex.response_body = R"({"applied":["01JD3Z6Q8YM000000000000001"]})";
    observer->recorder().record(std::move(ex));
    REQUIRE(observer->recorder().flush());

    const ReplayPreview preview = observer->replay().preview("01JD3Z6Q8YR000000000000001");
    REQUIRE(preview.items.size() == 1);
    const auto& item = preview.items[0];
    REQUIRE(item.current);
    CHECK(item.current->json == R"({"title":"Server","password":"[REDACTED]","pin":"[REDACTED]","n":1})");
    for (const auto& c : item.diff) {
        CHECK(c.from.find("SECRET") == std::string::npos);
        CHECK(c.to.find("SECRET") == std::string::npos);
    }
    REQUIRE(item.diff.size() == 1);  // the title; both passwords are the marker now
    CHECK(item.diff[0].path == "/title");
    CHECK(to_json(preview).find("SECRET") == std::string::npos);
}
