#include "tether/replay_engine.hpp"

#include <chrono>
#include <iterator>
#include <utility>

#include "detail/json.hpp"
#include "replay_rules.hpp"
#include "replay_sessions.hpp"
#include "tether/errors.hpp"
#include "tether/ids.hpp"
#include "tether/recorder.hpp"
#include "tether/redactor.hpp"

namespace tether {

namespace {

namespace json = boost::json;

constexpr const char* predicted_names[] = {"apply", "conflict", "not_found", "duplicate"};  // PredictedOutcome order

// Storage pages walked when a whole push is needed (totals, cloning).
constexpr std::size_t walk_page = PageRequest::max_limit;

// A preview cursor is "<session id>.<storage cursor>": the session gives later pages the
// token and totals of the first one, the storage cursor the keyset position.
struct PreviewCursor {
    std::string session_id;
    std::string storage_cursor;
};

[[noreturn]] void bad_cursor(const std::string& what) {
    throw InvalidArgument("cursor", what + "; expected a next_cursor value returned by a previous preview page");
}

bool is_session_id(std::string_view s) {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

PreviewCursor parse_preview_cursor(const std::string& cursor) {
    if (cursor.empty()) return {};
    const auto dot = cursor.find('.');
    if (dot == std::string::npos) bad_cursor("is not a replay preview cursor");
    PreviewCursor c{cursor.substr(0, dot), cursor.substr(dot + 1)};
    if (!is_session_id(c.session_id)) bad_cursor("has an invalid preview part");
    decode_cursor(c.storage_cursor);  // throws InvalidArgument("cursor", …) when tampered with
    return c;
}

std::string preview_cursor(const std::string& session_id, const std::string& storage_cursor) {
    return storage_cursor.empty() ? std::string() : session_id + "." + storage_cursor;
}

bool after(const MutationRecord& m, const std::optional<CursorKey>& cursor) {
    if (!cursor) return true;
    return m.seq != cursor->primary ? static_cast<std::int64_t>(m.seq) > cursor->primary : m.id > cursor->id;
}

void count(PredictedCounts& c, PredictedOutcome o) {
    std::uint64_t* slots[] = {&c.apply, &c.conflict, &c.not_found, &c.duplicate};  // in PredictedOutcome order
    ++*slots[static_cast<std::size_t>(o)];
}

std::string target_failure_body(const std::string& message) {
    std::string out = "{\"error\":\"replay_target_failed\",\"message\":";
    detail::append_json_string(out, message);
    return out += '}';
}

// "seq 3 (01J…): why; seq 7 (…): why; … and 12 more"
std::string list_mutations(const std::vector<SkippedMutation>& list) {
    constexpr std::size_t shown = 5;
    std::string out;
    for (std::size_t i = 0; i < list.size() && i < shown; ++i)
        out += (i ? "; seq " : "seq ") + std::to_string(list[i].seq) + " (" +
               (list[i].mutation_id.empty() ? std::string("no mutation_id") : list[i].mutation_id) +
               "): " + list[i].reason;
    if (list.size() > shown) out += "; and " + std::to_string(list.size() - shown) + " more";
    return out;
}

// The clone of a captured push: what is sent, and the audit of what changed.
struct ClonePlan {
    std::string body;
    std::vector<MutationIdChange> id_map;
    std::vector<SkippedMutation> skipped;
};

}  // namespace

const char* to_string(PredictedOutcome o) noexcept {
    const auto i = static_cast<std::size_t>(o);
    return i < std::size(predicted_names) ? predicted_names[i] : "unknown";
}

struct ReplayEngine::Impl {
    Storage& storage;
    Recorder& recorder;
    const Clock& clock;
    IdGenerator& ids;
    const ReplayConfig config;
    std::shared_ptr<StateReader> state;
    std::shared_ptr<ReplayTarget> target;
    std::shared_ptr<const Redactor> redactor;
    detail::ReplaySessions sessions;

    Impl(Storage& s, Recorder& r, const Clock& c, IdGenerator& i, ReplayConfig cfg, std::shared_ptr<StateReader> st,
         std::shared_ptr<ReplayTarget> t, std::shared_ptr<const Redactor> red)
        : storage(s),
          recorder(r),
          clock(c),
          ids(i),
          config(cfg),
          state(std::move(st)),
          target(std::move(t)),
          redactor(red ? std::move(red) : std::make_shared<KeyRedactor>()),
          sessions(std::chrono::duration_cast<std::chrono::microseconds>(cfg.token_ttl).count()) {}

    bool live_enabled() const noexcept { return config.live_enabled && target != nullptr; }

    RequestRecord captured_push(std::string_view id, const char* what) const {
        auto r = storage.get_request(id);
        if (!r) throw ReplayNotFound(std::string(what) + ": no captured request has id " + std::string(id));
        if (r->kind != ExchangeKind::push)
            throw ReplayNotApplicable(std::string(what) + " of request " + std::string(id) + ": it is a " +
                                      to_string(r->kind) + "; only captured pushes can be replayed");
        return std::move(*r);
    }

    // Calls `f(mutation)` for every stored mutation of the push, in push order.
    template <class F>
    std::uint64_t each_mutation(std::string_view request_id, F&& f) const {
        std::uint64_t n = 0;
        PageRequest page;
        page.limit = walk_page;
        do {
            auto p = storage.list_mutations(request_id, {}, page);
            for (const auto& m : p.items) f(m);
            n += p.items.size();
            page.cursor = std::move(p.next_cursor);
        } while (!page.cursor.empty());
        return n;
    }

    PreviewItem item(const MutationRecord& m, detail::Prediction&& p, const detail::Replayability& r) const {
        PreviewItem it;
        it.mutation_row_id = m.id;
        it.seq = m.seq;
        it.mutation_id = m.mutation_id;
        it.entity_id = m.entity_id;
        it.model = m.model;
        it.operation = m.operation;
        it.version = m.version;
        it.client_timestamp_ms = m.client_timestamp_ms;
        it.predicted = p.predicted;
        it.replay_predicted = p.replay_predicted;
        it.reason = std::move(p.reason);
        // The host's record holds the values capture redacted (a password): mask them the same
        // way before they reach the preview or its diff (found by fuzz/dashboard).
        if (p.current) {
            auto masked = redact_json(*redactor, p.current->json);
            if (!masked.paths.empty()) p.current->json = std::move(masked.text);
        }
        it.diff = detail::preview_diff(m, p.current);
        it.current = std::move(p.current);
        it.replayable = r.replayable;
        it.not_replayable_reason = r.reason;
        it.redacted = r.redacted;
        it.payload_json = m.payload_json;
        return it;
    }

    // One pass over the whole push: totals, plus the detailed items of the page after `cursor`.
    detail::PreviewTotals walk_push(const RequestRecord& req, const detail::PushFacts& facts,
                                    const std::optional<CursorKey>& cursor, std::size_t limit, ReplayPreview& out) {
        detail::PreviewTotals t;
        bool more = false;
        t.total = each_mutation(req.id, [&](const MutationRecord& m) {
            auto prediction = detail::predict(m, *state);
            auto r = detail::replayability(m, facts);
            count(t.counts, prediction.predicted);
            if (r.replayable) ++t.replayable;
            if (!after(m, cursor)) return;
            if (out.items.size() < limit)
                out.items.push_back(item(m, std::move(prediction), r));
            else
                more = true;
        });
        t.not_replayable_reason = detail::push_level_reason(facts, req, t.total);
        if (!t.not_replayable_reason.empty()) t.replayable = 0;
        if (more) out.next_cursor = encode_cursor({out.items.back().seq, out.items.back().mutation_row_id});
        return t;
    }

    // A later page of a live preview: only its own mutations are read.
    void read_page(const RequestRecord& req, const detail::PushFacts& facts, const PageRequest& page,
                   ReplayPreview& out) {
        auto p = storage.list_mutations(req.id, {}, page);
        for (const auto& m : p.items)
            out.items.push_back(item(m, detail::predict(m, *state), detail::replayability(m, facts)));
        out.next_cursor = std::move(p.next_cursor);
    }

    ReplayPreview preview(std::string_view request_id, const PageRequest& page) {
        if (!state)
            throw ReplayUnavailable("replay preview of request " + std::string(request_id) +
                                    ": no StateReader is configured; the host passes one to "
                                    "Observer::Builder::state_reader");
        validate_page({page.limit, {}});
        const PreviewCursor cursor = parse_preview_cursor(page.cursor);
        const RequestRecord req = captured_push(request_id, "replay preview");
        const auto facts = detail::push_facts(req);
        const Micros now = clock.now_us();

        ReplayPreview out;
        out.request_id = req.id;
        std::optional<detail::ReplaySessions::Session> session;
        if (!cursor.session_id.empty()) session = sessions.resume(cursor.session_id, req.id, now);
        if (session) {
            read_page(req, facts, {page.limit, cursor.storage_cursor}, out);
        } else {
            std::optional<CursorKey> key;
            if (!cursor.storage_cursor.empty()) key = decode_cursor(cursor.storage_cursor);
            auto totals = walk_push(req, facts, key, page.limit, out);
            session = sessions.issue(req.id, std::move(totals), now);
        }
        const auto& t = session->totals;
        out.next_cursor = preview_cursor(session->id, out.next_cursor);
        out.token = session->token;
        out.token_expires_at_us = session->expires_at_us;
        out.live_enabled = live_enabled();
        out.total = t.total;
        out.replayable = t.replayable;
        out.predicted_counts = t.counts;
        out.not_replayable_reason = t.not_replayable_reason;
        if (!t.not_replayable_reason.empty())
            for (auto& it : out.items)
                if (it.replayable) {
                    it.replayable = false;
                    it.not_replayable_reason = t.not_replayable_reason;
                }
        return out;
    }

    // Every check that needs no token: fails before the token is spent.
    ClonePlan plan_clone(const RequestRecord& req, bool skip_unfaithful) {
        const std::string what = "live replay of request " + req.id;
        const auto facts = detail::push_facts(req);
        std::vector<MutationRecord> rows;
        each_mutation(req.id, [&](const MutationRecord& m) { rows.push_back(m); });
        if (auto why = detail::push_level_reason(facts, req, rows.size()); !why.empty())
            throw ReplayNotApplicable(what + ": " + why);
        if (rows.empty())
            throw ReplayNotApplicable(what + ": the push has no mutations, so there is nothing to replay");

        ClonePlan plan;
        std::vector<SkippedMutation> refused;
        std::vector<bool> keep(rows.size(), false);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const auto r = detail::replayability(rows[i], facts);
            if (r.replayable)
                keep[i] = true;
            else
                (skip_unfaithful ? plan.skipped : refused).push_back({rows[i].seq, rows[i].mutation_id, r.reason});
        }
        if (!refused.empty())
            throw ReplayUnfaithful(what + ": " + std::to_string(refused.size()) +
                                   " mutation(s) cannot be replayed as captured: " + list_mutations(refused) +
                                   ". Send \"skip_redacted\": true to replay the others without them");
        if (plan.skipped.size() == rows.size())
            throw ReplayNotApplicable(what + ": every mutation would be skipped (" + list_mutations(plan.skipped) +
                                      "), so there is nothing to replay");
        plan.body = clone_body(req, rows, keep, plan.id_map, what);
        return plan;
    }

    // The captured body with fresh mutation ids and without the skipped mutations; every
    // other byte of meaning (envelope, payloads, versions, timestamps) as captured.
    std::string clone_body(const RequestRecord& req, const std::vector<MutationRecord>& rows,
                           const std::vector<bool>& keep, std::vector<MutationIdChange>& id_map,
                           const std::string& what) {
        ParseFailure failure;
        auto doc = detail::try_parse(req.request_body, &failure);
        json::array* mutations = nullptr;
        if (doc && doc->is_object())
            if (auto* v = doc->get_object().if_contains("mutations"); v && v->is_array()) mutations = &v->get_array();
        bool matches = mutations && mutations->size() == rows.size();
        for (std::size_t i = 0; matches && i < rows.size(); ++i) matches = rows[i].seq == i;
        if (!matches)
            throw ReplayNotApplicable(what + ": the captured body does not match its " + std::to_string(rows.size()) +
                                      " stored mutations, so it cannot be cloned");
        json::array cloned;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (!keep[i]) continue;
            json::value m = (*mutations)[i];
            std::string fresh = ids.next();
            m.get_object()["mutation_id"] = fresh;  // replayable rows are objects with a model and entity
            id_map.push_back({rows[i].mutation_id, std::move(fresh)});
            cloned.push_back(std::move(m));
        }
        *mutations = std::move(cloned);
        return detail::to_text(*doc);
    }

    ReplayResponse run_target(const ReplayPush& push) {
        try {
            return target->push(push);
        } catch (const std::exception& e) {
            return {500, target_failure_body(e.what()), {}};
        } catch (...) {
            return {500, target_failure_body("unknown exception"), {}};
        }
    }

    ReplayResult replay(std::string_view request_id, const ReplayOptions& options) {
        const std::string what = "live replay of request " + std::string(request_id);
        if (!config.live_enabled)
            throw ReplayDisabled(what +
                                 " refused: live replay is disabled; set replay.live_enabled to true in the "
                                 "configuration to allow it (previews stay available)");
        if (!target)
            throw ReplayUnavailable(what +
                                    ": no ReplayTarget is configured; the host passes one to "
                                    "Observer::Builder::replay_target");
        if (!options.confirm) throw ReplayNotConfirmed(what + " was not confirmed; expected \"confirm\": true");
        const RequestRecord req = captured_push(request_id, "live replay");
        sessions.check(options.token, req.id, clock.now_us());
        ClonePlan plan = plan_clone(req, options.skip_redacted);
        sessions.consume(options.token, req.id, clock.now_us());  // from here on the replay happens

        ReplayResult result;
        result.replay_request_id = ids.next();
        result.replay_of = req.id;
        result.by = options.by;
        result.at_us = clock.now_us();
        result.mutation_id_map = std::move(plan.id_map);
        result.skipped = std::move(plan.skipped);
        ReplayPush push{std::move(plan.body), req.client_id, req.client_version, req.id, result.replay_request_id};
        const Micros steady_start = clock.steady_us();
        ReplayResponse response = run_target(push);
        result.http_status = response.http_status;
        result.response_body = response.body;
        record(req, std::move(push.body), std::move(response), clock.steady_us() - steady_start, result);
        return result;
    }

    // The replay as its own captured request, linked to the original, with its audit.
    void record(const RequestRecord& original, std::string&& body, ReplayResponse&& response, Micros duration_us,
                ReplayResult& result) {
        Exchange ex;
        ex.kind = ExchangeKind::push;
        ex.id = result.replay_request_id;
        ex.client_id = original.client_id;
        ex.client_version = original.client_version;
        ex.started_at_us = result.at_us;
        ex.duration_us = duration_us;
        ex.http_status = response.http_status;
        ex.request_body = std::move(body);
        ex.response_body = std::move(response.body);
        ex.traces = std::move(response.traces);
        ex.replay_of = original.id;
        ex.replay_audit = ReplayAudit{result.by, result.at_us, result.mutation_id_map, result.skipped};
        if (!recorder.record(std::move(ex)) || !recorder.flush(config.record_timeout)) return;
        if (auto stored = storage.get_request(result.replay_request_id)) {
            result.recorded = true;
            result.outcome = stored->outcome;
        }
    }
};

ReplayEngine::ReplayEngine(Storage& storage, Recorder& recorder, const Clock& clock, IdGenerator& ids,
                           ReplayConfig config, std::shared_ptr<StateReader> state,
                           std::shared_ptr<ReplayTarget> target, std::shared_ptr<const Redactor> redactor)
    : impl_(std::make_unique<Impl>(storage, recorder, clock, ids, config, std::move(state), std::move(target),
                                   std::move(redactor))) {}

ReplayEngine::~ReplayEngine() = default;

ReplayPreview ReplayEngine::preview(std::string_view request_id, const PageRequest& page) {
    return impl_->preview(request_id, page);
}

ReplayResult ReplayEngine::replay(std::string_view request_id, const ReplayOptions& options) {
    return impl_->replay(request_id, options);
}

Page<ReplayLink> ReplayEngine::replays(std::string_view request_id, const PageRequest& page) {
    return impl_->storage.list_replays(request_id, page);
}

bool ReplayEngine::live_enabled() const noexcept { return impl_->live_enabled(); }

ReplayOptions parse_replay_options(std::string_view body) {
    const std::string expected = R"(; expected {"confirm": true, "token": "…", "skip_redacted": false})";
    if (body.empty()) throw InvalidArgument("body", "is empty" + expected);
    ParseFailure failure;
    auto doc = detail::try_parse(body, &failure);
    if (!doc)
        throw InvalidArgument("body", "is not valid JSON at line " + std::to_string(failure.line) + ", column " +
                                          std::to_string(failure.column) + " (" + failure.message + ")" + expected);
    if (!doc->is_object())
        throw InvalidArgument("body", std::string("is a JSON ") + detail::kind_name(*doc) + expected);
    const auto& o = doc->get_object();
    // A misspelt key ("skip_redact") must not silently mean its default.
    for (const auto& kv : o)
        if (kv.key() != "confirm" && kv.key() != "token" && kv.key() != "skip_redacted")
            throw InvalidArgument(std::string(kv.key().substr(0, 64)), "unknown key" + expected);
    auto member = [&](std::string_view key, bool (json::value::*is)() const noexcept, const char* type) {
        const auto* v = detail::find(o, key);
        if (v && !((*v).*is)())
            throw InvalidArgument(std::string(key), std::string("expected ") + type + ", got " + detail::kind_name(*v));
        return v;
    };
    ReplayOptions out;
    if (const auto* v = member("confirm", &json::value::is_bool, "true")) out.confirm = v->get_bool();
    if (const auto* v = member("token", &json::value::is_string, "a string")) out.token = std::string(v->get_string());
    if (const auto* v = member("skip_redacted", &json::value::is_bool, "a boolean")) out.skip_redacted = v->get_bool();
    return out;
}

}  // namespace tether
