// Push/pull protocol parsing: detail::Pipeline::process() on an Exchange built from the input.
//
// Input: request body RS response body RS headers RS trace RS trace … [GS option bytes]
//   (RS = 0x1e, US = 0x1f, GS = 0x1d; fuzz/README.md)
//   headers: lines "Name: value"; a trace: mutation_id US before US after [US server_state [US reason]]
//   options: [0] bit0 pull, bit1 invalid_body=drop, bit2 pull_payloads=full, bit3/4 request/response
//            truncated, bit5 max_mutations=3, bit6 preset client id
//            [1] HTTP status (index into a table)  [2] resolution of trace conflicts  [3] preset request id
//
// Properties: the pull-index parser agrees with json::parse plus stripping; never throws or reports an internal error; ids are fresh, unique ULIDs; counts
// match the mutation rows; each stored body is byte-for-byte the input, the redacted
// re-serialization (valid JSON), scrubbed (flagged) or dropped (flagged) — never raw invalid
// text; no stored document (bodies, payloads, states, server states, rejection data, diffs)
// holds a value under a sensitive key other than the marker; sensitive headers are masked.
#include <set>

#include "detail/json.hpp"
#include "fuzz_common.hpp"
#include "pipeline.hpp"
#include "support/pull_index_reference.hpp"

using namespace tether;
namespace tf = tether::fuzz;
namespace json = boost::json;

namespace {

constexpr int statuses[] = {200, 200, 201, 204, 400, 401, 404, 409, 422, 429, 500, 503, 0, -1, 99, 999, 302, 100};
const std::string marker = "[REDACTED]";
const std::string marker_json = "\"[REDACTED]\"";

std::string to_s(std::string_view s) { return std::string(s); }


// A stored JSON member: "" (absent) or valid JSON without secret values.
void check_stored_json(const std::string& text, const char* what) {
    if (text.empty()) return;
    auto v = tf::parse(text, 1000);
    if (!v) tf::fail(what, "stored text is not JSON: " + text.substr(0, 200));
    std::string where;
    if (!tf::no_secret_values(*v, marker, where)) tf::fail(what, "secret value survived at " + where);
}

// A field change: from/to are JSON (or empty); a path through a sensitive key can only end at
// it, with the marker (redaction replaced the whole value) on the sides that exist.
void check_changes(const std::vector<FieldChange>& changes, const char* what) {
    for (const auto& c : changes) {
        check_stored_json(c.from, what);
        check_stored_json(c.to, what);
        auto tokens = tf::split(c.path, '/');
        for (std::size_t i = 1; i < tokens.size(); ++i) {
            std::string key;
            for (std::size_t k = 0; k < tokens[i].size(); ++k) {
                if (tokens[i][k] == '~' && k + 1 < tokens[i].size()) {
                    key += tokens[i][++k] == '0' ? '~' : '/';
                } else {
                    key += tokens[i][k];
                }
            }
            if (!tf::oracle_sensitive(key)) continue;
            FUZZ_CHECK(i + 1 == tokens.size(), "a change below a sensitive key: " + c.path);
            FUZZ_CHECK(c.from.empty() || c.from == marker_json, "a secret in a change's from: " + c.path);
            FUZZ_CHECK(c.to.empty() || c.to == marker_json, "a secret in a change's to: " + c.path);
        }
    }
}

void check_body(std::string_view input, const std::string& stored,
                const std::optional<ParseFailure>& failure, bool scrubbed, bool dropped, bool drop_policy,
                const std::vector<std::string>& redacted_paths, const char* where, bool may_strip) {
    const bool input_is_json = !input.empty() && tf::parse(input).has_value();
    if (input.empty()) {
        FUZZ_CHECK(stored.empty());
        FUZZ_CHECK(!scrubbed && !dropped);
        return;
    }
    FUZZ_CHECK(input_is_json == !failure.has_value(),
               std::string(where) + ": the pipeline and the oracle disagree whether the body is JSON");
    if (failure) {
        FUZZ_CHECK(failure->offset <= input.size());
        FUZZ_CHECK(failure->line >= 1 && failure->column >= 1);
        if (drop_policy) {
            FUZZ_CHECK(dropped && !scrubbed && stored.empty(), std::string(where) + ": invalid body not dropped");
        } else {
            FUZZ_CHECK(scrubbed && !dropped, std::string(where) + ": invalid body not flagged scrubbed");
        }
        return;
    }
    FUZZ_CHECK(!scrubbed && !dropped);
    const std::string prefix = std::string(where) + ":";
    bool redacted = false;
    for (const auto& p : redacted_paths) redacted = redacted || p.compare(0, prefix.size(), prefix) == 0;
    if (!redacted && !may_strip) FUZZ_CHECK(stored == input, std::string(where) + ": clean body not stored verbatim");
    auto doc = tf::parse(stored, 1000);
    if (!doc) tf::fail("stored body is not JSON", stored.substr(0, 200));
    std::string at;
    if (!tf::no_secret_values(*doc, marker, at)) tf::fail("secret value in a stored body", std::string(where) + " " + at);
    // Every recorded path points at a marker in the stored document.
    for (const auto& p : redacted_paths)
        if (p.compare(0, prefix.size(), prefix) == 0)
            FUZZ_CHECK(tf::marker_at(*doc, std::string_view(p).substr(prefix.size()), marker),
                       "redacted path does not point at the marker: " + p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static ManualClock clock{1'732'500'000'000'000};
    static UlidGenerator ids{clock, 7};
    static KeyRedactor redactor;

    std::string_view input(reinterpret_cast<const char*>(data), size);
    const tf::Options opt = tf::take_options(input);
    const auto parts = tf::split(input, tf::part_separator);

    detail::PipelineOptions options;
    options.invalid_body = opt.bit(0, 1) ? InvalidBodyPolicy::drop : InvalidBodyPolicy::keep_scrubbed;
    options.keep_pull_payloads = opt.bit(0, 2);
    if (opt.bit(0, 5)) options.max_mutations = 3;

    Exchange ex;
    ex.kind = opt.bit(0, 0) ? ExchangeKind::pull : ExchangeKind::push;
    ex.http_status = statuses[opt.at(1) % std::size(statuses)];
    ex.started_at_us = 1'732'500'000'000'000;
    ex.request_truncated = opt.bit(0, 3);
    ex.response_truncated = opt.bit(0, 4);
    if (opt.bit(0, 6)) ex.client_id = "host-client";
    const std::string preset_id = "01JD3Z6Q8Y9V4K2M1N0P7R5S3T";
    switch (opt.at(3) % 3) {
        case 1: ex.id = preset_id; break;
        case 2: ex.id = "not-a-ulid"; break;
        default: break;
    }
    ex.request_body = to_s(parts[0]);
    if (parts.size() > 1) ex.response_body = to_s(parts[1]);
    if (parts.size() > 2) {
        for (auto line : tf::split(parts[2], '\n')) {
            if (line.empty()) continue;
            auto colon = line.find(':');
            Header h;
            h.name = to_s(line.substr(0, colon));
            if (colon != std::string_view::npos) {
                auto value = line.substr(colon + 1);
                if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
                h.value = to_s(value);
            }
            ex.headers.push_back(std::move(h));
        }
    }
    for (std::size_t i = 3; i < parts.size(); ++i) {
        auto fields = tf::split(parts[i], tf::field_separator);
        MutationTrace t;
        t.mutation_id = to_s(fields[0]);
        if (fields.size() > 1) t.state_before_json = to_s(fields[1]);
        if (fields.size() > 2) t.state_after_json = to_s(fields[2]);
        if (fields.size() > 3) {
            ConflictTrace c;
            c.resolver = "fuzz";
            c.resolution = static_cast<Resolution>(opt.at(2) % 4);
            c.server_state_json = to_s(fields[3]);
            if (fields.size() > 4) c.reason = to_s(fields[4]);
            t.conflict = std::move(c);
        }
        ex.traces.push_back(std::move(t));
    }
    const Exchange in = ex;  // what the host handed over, for the oracles

    // The pull-index parser is json::parse plus erasing the snapshots' payloads: same
    // document, same count, same failure at the same place.
    {
        ParseFailure want_failure, got_failure;
        auto want = detail::try_parse(in.response_body, &want_failure);
        detail::PullIndex index;
        auto got = detail::try_parse_pull_index(in.response_body, &got_failure, {}, index, &redactor);
        FUZZ_CHECK(want.has_value() == got.has_value(), "pull index parse disagrees on validity");
        if (want) {
            FUZZ_CHECK(index.stripped == test::strip_snapshot_payloads(*want), "pull index parse: stripped count");
            if (index.verbatim) {
                const std::string problem = test::verbatim_problem(*index.verbatim, *want, redactor);
                FUZZ_CHECK(problem.empty(), "pull index verbatim text: " + problem);
                FUZZ_CHECK(*got == test::lean_snapshots(*want), "pull index parse: another lean document");
            } else {
                FUZZ_CHECK(*got == *want, "pull index parse: another document");
            }
        } else {
            FUZZ_CHECK(got_failure.offset == want_failure.offset && got_failure.message == want_failure.message,
                       "pull index parse: failure " + got_failure.message + " at " + std::to_string(got_failure.offset) +
                           ", json::parse: " + want_failure.message + " at " + std::to_string(want_failure.offset));
        }
    }

    detail::Pipeline pipeline(redactor, ids, clock, options);
    CapturedRequest out = pipeline.process(std::move(ex));
    const RequestRecord& r = out.request;

    // Never an internal error (an exception caught inside process()).
    for (const auto& n : r.notes)
        FUZZ_CHECK(!(n.where == "recorder" && n.message.rfind("internal error while processing", 0) == 0), n.message);
    FUZZ_CHECK(r.notes.size() <= 101, "notes are capped at 100 plus a summary");

    // Ids: fresh, unique ULIDs (a preset valid id is kept).
    FUZZ_CHECK(is_valid_ulid(r.id), r.id);
    if (in.id == preset_id) FUZZ_CHECK(r.id == preset_id);
    std::set<std::string> seen{r.id};
    for (std::size_t i = 0; i < out.mutations.size(); ++i) {
        const auto& m = out.mutations[i];
        FUZZ_CHECK(is_valid_ulid(m.id), m.id);
        FUZZ_CHECK(seen.insert(m.id).second, "duplicate row id " + m.id);
        FUZZ_CHECK(m.seq == i);
        FUZZ_CHECK(m.request_id == r.id);
        FUZZ_CHECK(m.client_id == r.client_id);
        FUZZ_CHECK(m.instance == r.instance && !r.instance.empty());
    }
    if (opt.bit(0, 6)) FUZZ_CHECK(r.client_id == "host-client");
    FUZZ_CHECK(r.kind == in.kind && r.http_status == in.http_status);

    // Counts.
    FUZZ_CHECK(out.mutations.size() <= options.max_mutations);
    if (in.kind == ExchangeKind::pull) FUZZ_CHECK(out.mutations.empty());
    FUZZ_CHECK(r.mutation_count >= out.mutations.size());
    std::uint32_t applied = 0, rejected = 0, conflicts = 0;
    for (const auto& m : out.mutations) {
        applied += m.outcome == MutationOutcome::applied;
        rejected += m.outcome == MutationOutcome::rejected;
        conflicts += m.conflict.has_value();
    }
    FUZZ_CHECK(r.applied == applied && r.rejected == rejected && r.conflicts == conflicts);
    FUZZ_CHECK(std::is_sorted(r.models.begin(), r.models.end()));
    FUZZ_CHECK(std::adjacent_find(r.models.begin(), r.models.end()) == r.models.end());
    if (r.http_status >= 400 || r.request_parse_error || r.response_parse_error)
        FUZZ_CHECK(r.outcome == RequestOutcome::error);
    else if (r.outcome == RequestOutcome::ok)
        FUZZ_CHECK(r.rejected == 0 && r.conflicts == 0);

    // Bodies.
    const bool drop = options.invalid_body == InvalidBodyPolicy::drop;
    check_body(in.request_body, r.request_body, r.request_parse_error, r.request_body_scrubbed,
               r.request_body_dropped, drop, r.redacted_paths, "request", false);
    check_body(in.response_body, r.response_body, r.response_parse_error,
               r.response_body_scrubbed, r.response_body_dropped, drop, r.redacted_paths, "response",
               in.kind == ExchangeKind::pull && !options.keep_pull_payloads);
    if (in.kind == ExchangeKind::pull && !options.keep_pull_payloads && !r.response_body.empty() &&
        !r.response_parse_error) {
        auto doc = tf::parse(r.response_body, 1000);
        if (const auto* o = doc ? doc->if_object() : nullptr)
            if (const auto* s = o->if_contains("snapshots"); s && s->is_array())
                for (const auto& snap : s->get_array())
                    if (snap.is_object()) FUZZ_CHECK(!snap.get_object().contains("payload"), "pull payload kept");
    }

    // Headers: all kept, in order; sensitive ones masked.
    FUZZ_CHECK(r.headers.size() == in.headers.size());
    for (std::size_t i = 0; i < r.headers.size(); ++i) {
        FUZZ_CHECK(r.headers[i].name == in.headers[i].name);
        if (tf::oracle_sensitive(r.headers[i].name)) FUZZ_CHECK(r.headers[i].value == marker, r.headers[i].name);
    }

    // Every stored document and diff of every mutation.
    for (const auto& m : out.mutations) {
        check_stored_json(m.payload_json, "payload_json");
        check_stored_json(m.rejection_data_json, "rejection_data_json");
        check_stored_json(m.validation_json, "validation_json");
        check_stored_json(m.state_before_json, "state_before_json");
        check_stored_json(m.state_after_json, "state_after_json");
        check_changes(m.payload_diff, "payload_diff");
        check_changes(m.change_diff, "change_diff");
        if (m.conflict) {
            check_stored_json(m.conflict->server_state_json, "server_state_json");
            check_changes(m.conflict->fields, "conflict fields");
        }
    }
    return 0;
}
