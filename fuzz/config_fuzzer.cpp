// The configuration loader: tether::Config::from_json.
//
// Input: a configuration document (any bytes).
//
// Properties: only ConfigError escapes, and its path names a key of the document (or is ""
// for syntax); an accepted configuration passes validate(), keeps every value it was given
// (no silent wrap-around into a narrower type; redaction.extra_keys append to the keys), and
// round-trips: from_json(to_json()) gives the same to_json(); every duration it accepts
// can be converted to nanoseconds and added to a time point without overflow.
#include "fuzz_common.hpp"
#include "tether/config.hpp"
#include "tether/errors.hpp"

using namespace tether;
namespace tf = tether::fuzz;
namespace json = boost::json;

namespace {

// Every member of the input must appear with an equivalent value in the effective configuration.
void check_kept(const json::object& in, const json::object& out, const std::string& path) {
    for (const auto& kv : in) {
        const std::string p = path.empty() ? std::string(kv.key()) : path + "." + std::string(kv.key());
        if (p == "redaction.extra_keys") continue;  // checked with keys
        const auto* o = out.if_contains(kv.key());
        FUZZ_CHECK(o, "accepted key missing from to_json(): " + p);
        if (kv.value().is_object()) {
            FUZZ_CHECK(o->is_object(), p);
            check_kept(kv.value().get_object(), o->get_object(), p);
        } else if (p == "redaction.keys") {
            // keys, then extra_keys appended (checked below)
            const auto& want = kv.value().get_array();
            const auto& got = o->get_array();
            FUZZ_CHECK(got.size() >= want.size(), p);
            for (std::size_t i = 0; i < want.size(); ++i) FUZZ_CHECK(got[i] == want[i], p);
        } else {
            FUZZ_CHECK(tf::equivalent(kv.value(), *o), "value changed on load: " + p + " = " + json::serialize(kv.value()) +
                                                           " became " + json::serialize(*o));
        }
    }
}

// Durations end up in microseconds (retention, tokens), nanoseconds (condition-variable
// waits) and sums with time points: they must fit in half the nanosecond range.
template <class Duration>
void fits_in_time_arithmetic(Duration d, const char* name) {
    using ratio = std::ratio_divide<typename Duration::period, std::nano>;
    static_assert(ratio::den == 1);
    std::int64_t ns = 0;
    const bool overflow =
        __builtin_mul_overflow(static_cast<std::int64_t>(d.count()), static_cast<std::int64_t>(ratio::num), &ns);
    FUZZ_CHECK(!overflow && ns >= 0 && ns <= INT64_MAX / 2,
               std::string(name) + " is too long for time arithmetic: " + std::to_string(d.count()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    Config c;
    try {
        c = Config::from_json(input, "fuzz.json");
    } catch (const ConfigError& e) {
        FUZZ_CHECK(std::string_view(e.what()).size() > 0);
        FUZZ_CHECK(e.path().size() <= input.size() + 64, "error path longer than anything in the input");
        return 0;
    }
    c.validate();  // must not throw: from_json already validated

    const std::string text = c.to_json();
    auto effective = tf::parse(text);
    FUZZ_CHECK(effective && effective->is_object(), text);
    auto doc = tf::parse(input);
    FUZZ_CHECK(doc && doc->is_object(), "a configuration that is not a JSON object was accepted");
    check_kept(doc->get_object(), effective->get_object(), "");

    // redaction.keys = (given keys or the defaults) + extra_keys.
    if (const auto* r = doc->get_object().if_contains("redaction")) {
        const auto& ro = r->get_object();
        std::vector<std::string> want;
        if (const auto* k = ro.if_contains("keys"))
            for (const auto& s : k->get_array()) want.emplace_back(s.get_string());
        else
            want = KeyRedactor::default_keys();
        if (const auto* k = ro.if_contains("extra_keys"))
            for (const auto& s : k->get_array()) want.emplace_back(s.get_string());
        FUZZ_CHECK(c.redaction.keys == want, "redaction.keys is not keys + extra_keys");
    }

    // Round trip.
    Config again;
    try {
        again = Config::from_json(text, "to_json");
    } catch (const ConfigError& e) {
        tf::fail("to_json() output is refused by from_json()", e.what());
    }
    FUZZ_CHECK(again.to_json() == text, "from_json(to_json()) changes the configuration");

    // Durations are converted and added to time points throughout the library.
    fits_in_time_arithmetic(c.recorder.block_timeout, "recorder.block_timeout_ms");
    fits_in_time_arithmetic(c.recorder.batch_max_delay, "recorder.batch_max_delay_ms");
    fits_in_time_arithmetic(c.recorder.retry_initial, "recorder.retry_initial_ms");
    fits_in_time_arithmetic(c.recorder.retry_max, "recorder.retry_max_ms");
    fits_in_time_arithmetic(c.recorder.shutdown_timeout, "recorder.shutdown_timeout_ms");
    fits_in_time_arithmetic(c.retention.max_age, "retention.max_age_hours");
    fits_in_time_arithmetic(c.retention.prune_interval, "retention.prune_interval_ms");
    fits_in_time_arithmetic(c.telemetry.retention, "telemetry.retention_hours");
    fits_in_time_arithmetic(c.storage.busy_timeout, "storage.busy_timeout_ms");
    fits_in_time_arithmetic(c.replay.token_ttl, "replay.token_ttl_seconds");
    fits_in_time_arithmetic(c.replay.record_timeout, "replay.record_timeout_ms");
    return 0;
}
