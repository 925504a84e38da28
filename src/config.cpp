#include "tether/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "detail/json.hpp"
#include "tether/errors.hpp"

namespace tether {
namespace {

namespace json = boost::json;

std::string join_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Walks one JSON object: every member must be claimed by a handler, so typos are errors.
class Section {
public:
    Section(const json::value& v, std::string path) : path_(std::move(path)) {
        if (!v.is_object()) throw ConfigError(path_, "an object", std::string("got ") + detail::kind_name(v));
        obj_ = &v.get_object();
    }

    template <class F>
    Section& on(std::string_view key, F&& handler) {
        known_.emplace_back(key);
        if (const auto* v = detail::find(*obj_, key)) handler(*v, join_path(path_, key));
        return *this;
    }

    void finish() const {
        for (const auto& kv : *obj_) {
            bool ok = false;
            for (const auto& k : known_) ok = ok || k == kv.key();
            if (!ok) {
                std::string list;
                for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
                throw ConfigError(join_path(path_, kv.key()), "one of the known keys: " + list, "unknown key");
            }
        }
    }

private:
    const json::object* obj_;
    std::string path_;
    std::vector<std::string> known_;
};

std::uint64_t read_uint(const json::value& v, const std::string& path, std::uint64_t min = 0,
                        std::uint64_t max = INT64_MAX) {
    auto n = detail::get_int(v);
    if (!n || *n < 0 || static_cast<std::uint64_t>(*n) < min || static_cast<std::uint64_t>(*n) > max)
        throw ConfigError(path,
                          max == INT64_MAX ? "an integer >= " + std::to_string(min)
                                           : "an integer from " + std::to_string(min) + " to " + std::to_string(max),
                          std::string("got ") + (n ? std::to_string(*n) : detail::kind_name(v)));
    return static_cast<std::uint64_t>(*n);
}

bool read_bool(const json::value& v, const std::string& path) {
    if (!v.is_bool()) throw ConfigError(path, "true or false", std::string("got ") + detail::kind_name(v));
    return v.get_bool();
}

std::string read_string(const json::value& v, const std::string& path) {
    if (!v.is_string()) throw ConfigError(path, "a string", std::string("got ") + detail::kind_name(v));
    return std::string(v.get_string());
}

template <class E>
E read_enum(const json::value& v, const std::string& path, std::initializer_list<std::pair<const char*, E>> names) {
    std::string expected;
    for (const auto& [name, e] : names) {
        if (v.is_string() && v.get_string() == name) return e;
        expected += (expected.empty() ? "\"" : " or \"") + std::string(name) + "\"";
    }
    throw ConfigError(path, expected, v.is_string() ? "got \"" + std::string(v.get_string()) + "\"" : "got a " + std::string(detail::kind_name(v)));
}

std::vector<std::string> read_string_list(const json::value& v, const std::string& path) {
    if (!v.is_array()) throw ConfigError(path, "an array of strings", std::string("got ") + detail::kind_name(v));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.get_array().size(); ++i)
        out.push_back(read_string(v.get_array()[i], path + "[" + std::to_string(i) + "]"));
    return out;
}

// Durations are bounded by half the range of std::chrono::nanoseconds (~146 years), so that
// converting them (to microseconds for retention, to nanoseconds in condition-variable waits)
// and adding them to a time point cannot overflow (retention.max_age_hours = 2^62 used to;
// found by fuzz/config).
constexpr std::chrono::nanoseconds max_duration{INT64_MAX / 2};
template <class Duration>
auto set_ms(Duration& d, std::uint64_t min = 0) {
    constexpr auto max = static_cast<std::uint64_t>(std::chrono::duration_cast<Duration>(max_duration).count());
    return [&d, min](const json::value& v, const std::string& p) { d = Duration(read_uint(v, p, min, max)); };
}
// Bounded by the member's type: a value that does not fit is an error, not a silent wrap.
template <class T>
auto set_uint(T& t, std::uint64_t min = 0) {
    constexpr auto max = static_cast<std::uint64_t>(
        std::min<std::uint64_t>(std::numeric_limits<T>::max(), static_cast<std::uint64_t>(INT64_MAX)));
    return [&t, min](const json::value& v, const std::string& p) { t = static_cast<T>(read_uint(v, p, min, max)); };
}

double read_number(const json::value& v, const std::string& path, double min, double max, const char* expected) {
    double d;
    if (v.is_double()) d = detail::get_double(v);
    else if (v.is_int64()) d = static_cast<double>(v.get_int64());
    else if (v.is_uint64()) d = static_cast<double>(v.get_uint64());
    else throw ConfigError(path, expected, std::string("got ") + detail::kind_name(v));
    if (d < min || d > max) throw ConfigError(path, expected, "got " + detail::to_text(v));
    return d;
}
auto set_percent(double& d) {
    return [&d](const json::value& v, const std::string& p) { d = read_number(v, p, 0, 100, "a percentage between 0 and 100"); };
}
auto set_positive(double& d) {
    return [&d](const json::value& v, const std::string& p) { d = read_number(v, p, 0, 1e12, "a number >= 0"); };
}

const char* overflow_name(OverflowPolicy p) { return p == OverflowPolicy::block ? "block" : "drop_newest"; }
const char* match_name(KeyMatch m) { return m == KeyMatch::exact ? "exact" : "contains"; }
const char* invalid_body_name(InvalidBodyPolicy p) { return p == InvalidBodyPolicy::drop ? "drop" : "keep_scrubbed"; }
const char* pull_payloads_name(PullPayloads p) { return p == PullPayloads::full ? "full" : "index"; }

}  // namespace

Config Config::from_json(std::string_view text, std::string_view source) {
    ParseFailure failure;
    auto doc = detail::try_parse(text, &failure);
    if (!doc)
        throw ConfigError("", "a JSON object",
                          std::string(source) + ": invalid JSON at line " + std::to_string(failure.line) + ", column " +
                              std::to_string(failure.column) + ": " + failure.message);
    Config c;
    Section(*doc, "")
        .on("instance",
            [&](const json::value& v, const std::string& p) {
                c.instance = read_string(v, p);
                if (c.instance.empty()) throw ConfigError(p, "a non-empty string");
            })
        .on("recorder",
            [&](const json::value& v, const std::string& p) {
                auto& r = c.recorder;
                Section(v, p)
                    .on("queue_max_items", set_uint(r.queue_max_items, 1))
                    .on("queue_max_bytes", set_uint(r.queue_max_bytes, 1))
                    .on("overflow",
                        [&](const json::value& x, const std::string& q) {
                            r.overflow = read_enum<OverflowPolicy>(
                                x, q, {{"drop_newest", OverflowPolicy::drop_newest}, {"block", OverflowPolicy::block}});
                        })
                    .on("block_timeout_ms", set_ms(r.block_timeout))
                    .on("max_body_bytes", set_uint(r.max_body_bytes, 1))
                    .on("max_mutations_per_request", set_uint(r.max_mutations_per_request, 1))
                    .on("pull_payloads",
                        [&](const json::value& x, const std::string& q) {
                            r.pull_payloads = read_enum<PullPayloads>(
                                x, q, {{"index", PullPayloads::index}, {"full", PullPayloads::full}});
                        })
                    .on("batch_max_items", set_uint(r.batch_max_items, 1))
                    .on("batch_max_bytes", set_uint(r.batch_max_bytes, 1))
                    .on("batch_max_delay_ms", set_ms(r.batch_max_delay, 1))
                    .on("retry_initial_ms", set_ms(r.retry_initial, 1))
                    .on("retry_max_ms", set_ms(r.retry_max, 1))
                    .on("retry_max_attempts", set_uint(r.retry_max_attempts, 1))
                    .on("shutdown_timeout_ms", set_ms(r.shutdown_timeout))
                    .finish();
            })
        .on("redaction",
            [&](const json::value& v, const std::string& p) {
                auto& r = c.redaction;
                Section(v, p)
                    .on("keys", [&](const json::value& x, const std::string& q) { r.keys = read_string_list(x, q); })
                    .on("extra_keys",
                        [&](const json::value& x, const std::string& q) {
                            for (auto& k : read_string_list(x, q)) r.keys.push_back(std::move(k));
                        })
                    .on("marker", [&](const json::value& x, const std::string& q) { r.marker = read_string(x, q); })
                    .on("match",
                        [&](const json::value& x, const std::string& q) {
                            r.match = read_enum<KeyMatch>(x, q, {{"contains", KeyMatch::contains}, {"exact", KeyMatch::exact}});
                        })
                    .on("invalid_body",
                        [&](const json::value& x, const std::string& q) {
                            r.invalid_body = read_enum<InvalidBodyPolicy>(
                                x, q, {{"keep_scrubbed", InvalidBodyPolicy::keep_scrubbed}, {"drop", InvalidBodyPolicy::drop}});
                        })
                    .finish();
            })
        .on("retention",
            [&](const json::value& v, const std::string& p) {
                auto& r = c.retention;
                Section(v, p)
                    .on("max_age_hours", set_ms(r.max_age))
                    .on("max_requests", set_uint(r.max_requests))
                    .on("max_tracked_mutations", set_uint(r.max_tracked_mutations))
                    .on("prune_batch", set_uint(r.prune_batch, 1))
                    .on("prune_interval_ms", set_ms(r.prune_interval, 1))
                    .finish();
            })
        .on("telemetry",
            [&](const json::value& v, const std::string& p) {
                auto& t = c.telemetry;
                Section(v, p)
                    .on("degraded_failure_rate", set_percent(t.degraded_failure_rate))
                    .on("failing_failure_rate", set_percent(t.failing_failure_rate))
                    .on("degraded_conflict_rate", set_percent(t.degraded_conflict_rate))
                    .on("failing_conflict_rate", set_percent(t.failing_conflict_rate))
                    .on("degraded_p95_ms", set_positive(t.degraded_p95_ms))
                    .on("failing_p95_ms", set_positive(t.failing_p95_ms))
                    .on("top_n", set_uint(t.top_n, 1))
                    .on("max_clients_per_bucket", set_uint(t.max_clients_per_bucket, 1))
                    .on("retention_hours", set_ms(t.retention, 1))
                    .finish();
            })
        .on("failures",
            [&](const json::value& v, const std::string& p) {
                auto& f = c.failures;
                Section(v, p)
                    .on("systematic_min_failures", set_uint(f.systematic_min_failures, 1))
                    .on("systematic_min_ratio",
                        [&](const json::value& x, const std::string& q) {
                            f.systematic_min_ratio = read_number(x, q, 0, 1, "a number between 0 and 1");
                        })
                    .on("stuck_after_pushes", set_uint(f.stuck_after_pushes, 1))
                    .on("poison_after_failures", set_uint(f.poison_after_failures, 1))
                    .finish();
            })
        .on("storage",
            [&](const json::value& v, const std::string& p) {
                Section(v, p)
                    .on("url", [&](const json::value& x, const std::string& q) { c.storage.url = read_string(x, q); })
                    .on("busy_timeout_ms", set_ms(c.storage.busy_timeout))
                    .on("schema",
                        [&](const json::value& x, const std::string& q) {
                            c.storage.schema = read_string(x, q);
                            const bool ok = !c.storage.schema.empty() && c.storage.schema.size() <= 63 &&
                                            (c.storage.schema[0] < '0' || c.storage.schema[0] > '9') &&
                                            c.storage.schema.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
                                                std::string::npos;
                            if (!ok)
                                throw ConfigError(q, "a lowercase SQL identifier (a-z, 0-9, _; not starting with a digit; "
                                                     "at most 63 characters)");
                        })
                    .finish();
            })
        .on("replay",
            [&](const json::value& v, const std::string& p) {
                auto& r = c.replay;
                Section(v, p)
                    .on("live_enabled",
                        [&](const json::value& x, const std::string& q) { r.live_enabled = read_bool(x, q); })
                    .on("token_ttl_seconds", set_ms(r.token_ttl, 1))
                    .on("record_timeout_ms", set_ms(r.record_timeout, 1))
                    .finish();
            })
        .finish();
    c.validate();
    return c;
}

Config Config::from_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw ConfigError("", "a readable JSON file", "'" + path + "' is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("", "a readable JSON file", "cannot open '" + path + "': " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return from_json(ss.str(), path);
}

void Config::validate() const {
    if (instance.empty()) throw ConfigError("instance", "a non-empty string");
    if (recorder.queue_max_items == 0) throw ConfigError("recorder.queue_max_items", "an integer >= 1");
    if (recorder.queue_max_bytes == 0) throw ConfigError("recorder.queue_max_bytes", "an integer >= 1");
    if (recorder.max_body_bytes == 0) throw ConfigError("recorder.max_body_bytes", "an integer >= 1");
    if (recorder.max_mutations_per_request == 0)
        throw ConfigError("recorder.max_mutations_per_request", "an integer >= 1");
    if (recorder.batch_max_items == 0) throw ConfigError("recorder.batch_max_items", "an integer >= 1");
    if (recorder.batch_max_bytes == 0) throw ConfigError("recorder.batch_max_bytes", "an integer >= 1");
    if (recorder.batch_max_delay.count() <= 0) throw ConfigError("recorder.batch_max_delay_ms", "an integer >= 1");
    if (recorder.retry_max_attempts < 1) throw ConfigError("recorder.retry_max_attempts", "an integer >= 1");
    if (recorder.retry_initial.count() <= 0) throw ConfigError("recorder.retry_initial_ms", "an integer >= 1");
    if (recorder.retry_max < recorder.retry_initial)
        throw ConfigError("recorder.retry_max_ms", "an integer >= recorder.retry_initial_ms");
    if (retention.prune_batch == 0) throw ConfigError("retention.prune_batch", "an integer >= 1");
    if (retention.prune_interval.count() <= 0) throw ConfigError("retention.prune_interval_ms", "an integer >= 1");
    if (redaction.marker.empty()) throw ConfigError("redaction.marker", "a non-empty string");
    if (storage.url.empty()) throw ConfigError("storage.url", "a non-empty string");
    if (telemetry.degraded_failure_rate > telemetry.failing_failure_rate)
        throw ConfigError("telemetry.degraded_failure_rate", "a value <= telemetry.failing_failure_rate");
    if (telemetry.degraded_conflict_rate > telemetry.failing_conflict_rate)
        throw ConfigError("telemetry.degraded_conflict_rate", "a value <= telemetry.failing_conflict_rate");
    if (telemetry.degraded_p95_ms > telemetry.failing_p95_ms)
        throw ConfigError("telemetry.degraded_p95_ms", "a value <= telemetry.failing_p95_ms");
    if (telemetry.top_n == 0) throw ConfigError("telemetry.top_n", "an integer >= 1");
    if (telemetry.max_clients_per_bucket == 0) throw ConfigError("telemetry.max_clients_per_bucket", "an integer >= 1");
    if (telemetry.retention.count() <= 0) throw ConfigError("telemetry.retention_hours", "an integer >= 1");
    if (failures.systematic_min_failures == 0) throw ConfigError("failures.systematic_min_failures", "an integer >= 1");
    if (!(failures.systematic_min_ratio > 0 && failures.systematic_min_ratio <= 1))
        throw ConfigError("failures.systematic_min_ratio", "a number > 0 and <= 1");
    if (failures.stuck_after_pushes == 0) throw ConfigError("failures.stuck_after_pushes", "an integer >= 1");
    if (failures.poison_after_failures == 0) throw ConfigError("failures.poison_after_failures", "an integer >= 1");
    if (replay.token_ttl.count() <= 0) throw ConfigError("replay.token_ttl_seconds", "an integer >= 1");
    if (replay.record_timeout.count() <= 0) throw ConfigError("replay.record_timeout_ms", "an integer >= 1");
}

std::string Config::to_json() const {
    json::array keys;
    for (const auto& k : redaction.keys) keys.emplace_back(k);
    json::object o{
        {"instance", instance},
        {"recorder",
         {{"queue_max_items", recorder.queue_max_items},
          {"queue_max_bytes", recorder.queue_max_bytes},
          {"overflow", overflow_name(recorder.overflow)},
          {"block_timeout_ms", recorder.block_timeout.count()},
          {"max_body_bytes", recorder.max_body_bytes},
          {"max_mutations_per_request", recorder.max_mutations_per_request},
          {"pull_payloads", pull_payloads_name(recorder.pull_payloads)},
          {"batch_max_items", recorder.batch_max_items},
          {"batch_max_bytes", recorder.batch_max_bytes},
          {"batch_max_delay_ms", recorder.batch_max_delay.count()},
          {"retry_initial_ms", recorder.retry_initial.count()},
          {"retry_max_ms", recorder.retry_max.count()},
          {"retry_max_attempts", recorder.retry_max_attempts},
          {"shutdown_timeout_ms", recorder.shutdown_timeout.count()}}},
        {"redaction",
         {{"keys", keys},
          {"marker", redaction.marker},
          {"match", match_name(redaction.match)},
          {"invalid_body", invalid_body_name(redaction.invalid_body)}}},
        {"retention",
         {{"max_age_hours", retention.max_age.count()},
          {"max_requests", retention.max_requests},
          {"max_tracked_mutations", retention.max_tracked_mutations},
          {"prune_batch", retention.prune_batch},
          {"prune_interval_ms", retention.prune_interval.count()}}},
        {"telemetry",
         {{"degraded_failure_rate", telemetry.degraded_failure_rate},
          {"failing_failure_rate", telemetry.failing_failure_rate},
          {"degraded_conflict_rate", telemetry.degraded_conflict_rate},
          {"failing_conflict_rate", telemetry.failing_conflict_rate},
          {"degraded_p95_ms", telemetry.degraded_p95_ms},
          {"failing_p95_ms", telemetry.failing_p95_ms},
          {"top_n", telemetry.top_n},
          {"max_clients_per_bucket", telemetry.max_clients_per_bucket},
          {"retention_hours", telemetry.retention.count()}}},
        {"failures",
         {{"systematic_min_failures", failures.systematic_min_failures},
          {"systematic_min_ratio", failures.systematic_min_ratio},
          {"stuck_after_pushes", failures.stuck_after_pushes},
          {"poison_after_failures", failures.poison_after_failures}}},
        {"storage", {{"url", storage.url}, {"busy_timeout_ms", storage.busy_timeout.count()}, {"schema", storage.schema}}},
        {"replay",
         {{"live_enabled", replay.live_enabled},
          {"token_ttl_seconds", replay.token_ttl.count()},
          {"record_timeout_ms", replay.record_timeout.count()}}},
    };
    return detail::to_text(o);
}

}  // namespace tether
