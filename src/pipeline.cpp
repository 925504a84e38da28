#include "pipeline.hpp"

#include <algorithm>
#include <unordered_map>

#include "detail/diff.hpp"
#include "detail/json.hpp"
#include "detail/redact.hpp"

namespace tether::detail {
namespace {

constexpr std::string_view client_version_header = "x-tether-client-version";

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

std::string pointer(std::string_view base, std::size_t index, std::string_view field = {}) {
    std::string p(base);
    p += '/';
    p += std::to_string(index);
    if (!field.empty()) {
        p += '/';
        p += field;
    }
    return p;
}

// Best effort for bodies that are not JSON: the client id is what people search by when
// a client fails to sync, so recover a plain `"client_id": "…"` from the text.
std::string find_client_id(std::string_view raw) {
    constexpr std::string_view key = "\"client_id\"";
    for (auto pos = raw.find(key); pos != std::string_view::npos; pos = raw.find(key, pos + 1)) {
        std::size_t i = pos + key.size();
        auto skip_ws = [&] { while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r')) ++i; };
        skip_ws();
        if (i >= raw.size() || raw[i] != ':') continue;
        ++i;
        skip_ws();
        if (i >= raw.size() || raw[i] != '"') continue;
        std::size_t start = ++i;
        while (i < raw.size() && i - start <= 128 && raw[i] != '"' && raw[i] != '\\' &&
               static_cast<unsigned char>(raw[i]) >= 0x20)
            ++i;
        if (i < raw.size() && raw[i] == '"' && i > start && i - start <= 128) return std::string(raw.substr(start, i - start));
    }
    return {};
}

// One exchange being processed; collects notes and redacted paths as it goes.
class Processor {
public:
    Processor(const Redactor& r, const PipelineOptions& o, CapturedRequest& out) : redactor_(r), options_(o), out_(out) {}

    RequestRecord& req() { return out_.request; }
    std::vector<MutationRecord>& mutations() { return out_.mutations; }
    /// Mutations in the push, including any beyond max_mutations that were not kept.
    std::size_t pushed = 0;

    // Notes are capped: a hostile body must not turn one request into millions of rows.
    static constexpr std::size_t max_notes = 100;
    void note(std::string_view where, std::string path, std::string message, bool protocol_error) {
        if (req().notes.size() < max_notes) {
            req().notes.push_back({std::string(where), std::move(path), std::move(message), protocol_error});
            return;
        }
        ++suppressed_notes_;
        suppressed_protocol_error_ = suppressed_protocol_error_ || protocol_error;
    }
    void close_notes() {
        if (suppressed_notes_)
            req().notes.push_back({"recorder", "", std::to_string(suppressed_notes_) + " more notes not stored",
                                   suppressed_protocol_error_});
    }

    // Parses and redacts one body. Returns the parsed, redacted document when it is JSON.
    // `stored` receives what is kept: the original text when nothing was redacted, the
    // re-serialized redacted document otherwise, or the scrubbed/dropped raw text.
    std::optional<json::value> body(std::string&& raw, std::string_view where, std::string& stored,
                                    std::optional<ParseFailure>& failure, bool& scrubbed, bool& dropped,
                                    bool truncated, json::storage_ptr sp, bool strip_snapshot_payloads = false) {
        if (raw.empty()) {
            // A push or pull without a body is unparseable; an empty response usually means
            // the host did not capture it.
            if (where == "request") failure = ParseFailure{"empty body; expected a JSON object", 0, 1, 1};
            stored.clear();
            return std::nullopt;
        }
        ParseFailure f;
        // Payloads left out are never built, walked by the redactor nor written: most of a pull's cost.
        PullIndex index;
        auto doc = strip_snapshot_payloads ? try_parse_pull_index(raw, &f, sp, index, &redactor_) : try_parse(raw, &f, sp);
        const std::size_t stripped = index.stripped;
        if (!doc) {
            if (truncated) f.message += " (body was truncated to recorder.max_body_bytes)";
            failure = f;
            if (where == "request" && req().client_id.empty()) {
                req().client_id = find_client_id(raw);
                if (!req().client_id.empty())
                    note("request", "/client_id", "recovered from the invalid body by text search", false);
            }
            if (options_.invalid_body == InvalidBodyPolicy::drop) {
                dropped = true;
                stored.clear();
            } else {
                std::vector<std::string> paths;
                stored = scrub_text(redactor_, raw, &paths);
                scrubbed = true;
                for (auto& p : paths) req().redacted_paths.push_back(std::string(where) + ":" + p);
            }
            return std::nullopt;
        }
        if (index.verbatim) {
            // Every key and string outside the payloads was checked while parsing: nothing to redact.
            stored = std::move(*index.verbatim);
        } else {
            std::vector<std::string> paths;
            redact_value(*doc, redactor_, paths);
            if (paths.empty() && stripped == 0) {
                stored = std::move(raw);
            } else {
                stored = to_text(*doc);
                for (auto& p : paths) req().redacted_paths.push_back(std::string(where) + ":" + p);
            }
        }
        if (stripped)
            note("recorder", "/snapshots",
                 std::to_string(stripped) + " snapshot payload(s) not stored (recorder.pull_payloads is \"index\"; "
                 "\"full\" keeps them)", false);
        return doc;
    }

    // Host-provided JSON (trace states): parse, redact; invalid text is noted and not stored.
    std::optional<json::value> host_json(const std::string& text, const std::string& label, json::storage_ptr sp) {
        if (text.empty()) return std::nullopt;
        ParseFailure f;
        auto doc = try_parse(text, &f, sp);
        if (!doc) {
            note("trace", label,
                 "host-reported JSON is invalid at line " + std::to_string(f.line) + ", column " +
                     std::to_string(f.column) + " (" + f.message + "); expected JSON, not stored",
                 false);
            return std::nullopt;
        }
        std::vector<std::string> paths;
        redact_value(*doc, redactor_, paths);
        for (auto& p : paths) req().redacted_paths.push_back(label + ":" + p);
        return doc;
    }

    std::string string_field(const json::object& o, std::string_view key, std::string_view where,
                             const std::string& path, bool required, bool protocol_error) {
        const auto* v = find(o, key);
        if (!v) {
            if (required)
                note(where, path + "/" + std::string(key), "missing; expected a string", protocol_error);
            return {};
        }
        if (!v->is_string()) {
            note(where, path + "/" + std::string(key), std::string("expected a string, got ") + kind_name(*v),
                 protocol_error);
            return {};
        }
        return std::string(v->get_string());
    }

    std::optional<std::int64_t> int_field(const json::object& o, std::string_view key, std::string_view where,
                                          const std::string& path, bool allow_null) {
        const auto* v = find(o, key);
        if (!v || (allow_null && v->is_null())) return std::nullopt;
        auto n = get_int(*v);
        if (!n) note(where, path + "/" + std::string(key), std::string("expected an integer, got ") + kind_name(*v), false);
        return n;
    }

private:
    const Redactor& redactor_;
    const PipelineOptions& options_;
    CapturedRequest& out_;
    std::size_t suppressed_notes_ = 0;
    bool suppressed_protocol_error_ = false;
};

// A state reported by the host: "null" (no record) compares like an empty object so a
// create shows every field as added and a delete every field as removed.
const json::value& as_document(const std::optional<json::value>& v) {
    static const json::value empty = json::object();
    return (!v || v->is_null()) ? empty : *v;
}

void parse_push_request(Processor& p, const json::value* request, std::size_t max_mutations) {
    auto& req = p.req();
    if (!request) return;
    if (!request->is_object()) {
        p.note("request", "", std::string("expected a JSON object, got ") + kind_name(*request), true);
        return;
    }
    const auto& o = request->get_object();
    auto client = p.string_field(o, "client_id", "request", "", true, true);
    if (req.client_id.empty()) req.client_id = std::move(client);
    const auto* mv = find(o, "mutations");
    if (!mv) {
        p.note("request", "/mutations", "missing; expected an array of mutations", true);
        return;
    }
    if (!mv->is_array()) {
        p.note("request", "/mutations", std::string("expected an array, got ") + kind_name(*mv), true);
        return;
    }
    const auto& arr = mv->get_array();
    auto& muts = p.mutations();
    const std::size_t n = std::min(arr.size(), max_mutations);
    p.pushed = arr.size();
    if (n < arr.size())
        p.note("request", "/mutations",
               std::to_string(arr.size()) + " mutations pushed; the first " + std::to_string(n) +
                   " are stored (recorder.max_mutations_per_request)",
               false);
    muts.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::string path = pointer("/mutations", i);
        MutationRecord m;
        m.seq = static_cast<std::uint32_t>(i);
        if (!arr[i].is_object()) {
            p.note("request", path, std::string("expected a mutation object, got ") + kind_name(arr[i]), true);
            muts.push_back(std::move(m));
            continue;
        }
        const auto& mo = arr[i].get_object();
        m.mutation_id = p.string_field(mo, "mutation_id", "request", path, true, true);
        m.entity_id = p.string_field(mo, "entity_id", "request", path, true, false);
        m.model = p.string_field(mo, "model", "request", path, true, true);
        m.operation = p.string_field(mo, "operation", "request", path, true, true);
        if (!m.operation.empty() && m.operation != "create" && m.operation != "update" && m.operation != "delete")
            p.note("request", path + "/operation",
                   "unknown operation \"" + m.operation + "\"; expected create, update or delete", false);
        m.version = p.int_field(mo, "version", "request", path, false);
        m.client_timestamp_ms = p.int_field(mo, "timestamp", "request", path, false);
        if (const auto* pl = find(mo, "payload")) {
            m.payload_json = to_text(*pl);
            if (!pl->is_object() && !pl->is_array())
                p.note("request", path + "/payload", std::string("expected an object, got ") + kind_name(*pl), false);
        } else if (m.operation != "delete") {
            p.note("request", path + "/payload", "missing; expected an object", false);
        }
        muts.push_back(std::move(m));
    }
}

// Applies the response's applied/rejected/conflicts lists to the parsed mutations.
void parse_push_response(Processor& p, const json::value* response, int http_status, bool request_parsed) {
    if (!response) return;
    if (!response->is_object()) {
        p.note("response", "", std::string("expected a JSON object, got ") + kind_name(*response), http_status < 400);
        return;
    }
    if (http_status >= 400) return;  // an error document, not a push result
    auto& muts = p.mutations();
    // Positions of each mutation_id in the push; a list's k-th entry for an id is matched
    // to the k-th mutation with that id (linear, even when a client repeats one id).
    std::unordered_map<std::string_view, std::vector<std::size_t>> by_id;
    by_id.reserve(muts.size());
    for (std::size_t i = 0; i < muts.size(); ++i)
        if (!muts[i].mutation_id.empty()) by_id[muts[i].mutation_id].push_back(i);

    const auto& o = response->get_object();
    auto each = [&](std::string_view list, auto&& fn) {
        const auto* v = find(o, list);
        if (!v) return;
        if (!v->is_array()) {
            p.note("response", "/" + std::string(list), std::string("expected an array, got ") + kind_name(*v), false);
            return;
        }
        std::unordered_map<std::string_view, std::size_t> used;
        const auto& arr = v->get_array();
        for (std::size_t i = 0; i < arr.size(); ++i) {
            std::string path = pointer("/" + std::string(list), i);
            std::string_view id;
            const json::object* entry = nullptr;
            if (arr[i].is_string()) {
                id = arr[i].get_string();
            } else if (arr[i].is_object()) {
                entry = &arr[i].get_object();
                if (auto s = get_string(*entry, "mutation_id")) id = *s;
            }
            if (id.empty()) {
                p.note("response", path, "expected a mutation_id", false);
                continue;
            }
            auto it = by_id.find(id);
            if (it == by_id.end()) {
                // Without a parsed request every id would be "unknown": say nothing then.
                if (request_parsed)
                    p.note("response", path, "mutation_id \"" + std::string(id) + "\" was not in the request", false);
                continue;
            }
            std::size_t k = used[id]++;
            if (k >= it->second.size()) {
                p.note("response", path, "mutation_id \"" + std::string(id) + "\" is listed more often than it was pushed",
                       false);
                continue;
            }
            fn(muts[it->second[k]], entry, path);
        }
    };
    each("applied", [](MutationRecord& m, const json::object*, const std::string&) {
        m.outcome = MutationOutcome::applied;
    });
    each("rejected", [&](MutationRecord& m, const json::object* entry, const std::string& path) {
        m.outcome = MutationOutcome::rejected;
        if (!entry) return;
        m.reason = p.string_field(*entry, "reason", "response", path, true, false);
        if (const auto* d = find(*entry, "data")) {
            m.rejection_data_json = to_text(*d);
            if (d->is_object())
                if (const auto* msgs = find(d->get_object(), "messages")) m.validation_json = to_text(*msgs);
        }
    });
    each("conflicts", [&](MutationRecord& m, const json::object* entry, const std::string& path) {
        m.outcome = MutationOutcome::conflict;
        ConflictInfo& c = m.conflict ? *m.conflict : m.conflict.emplace();
        c.reported_in_response = true;
        if (!entry) return;
        m.reason = p.string_field(*entry, "reason", "response", path, false, false);
        if (c.reason.empty()) c.reason = m.reason;
        if (const auto* d = find(*entry, "data"); d && d->is_object()) {
            if (const auto* st = find(d->get_object(), "server_state")) c.server_state_json = to_text(*st);
            if (auto at = get_string(d->get_object(), "server_updated_at")) c.server_updated_at = std::string(*at);
        }
    });
}

void apply_traces(Processor& p, std::vector<MutationTrace>& traces, json::storage_ptr sp) {
    auto& muts = p.mutations();
    std::unordered_map<std::string_view, std::size_t> by_id;
    for (std::size_t i = 0; i < muts.size(); ++i)
        if (!muts[i].mutation_id.empty()) by_id.emplace(muts[i].mutation_id, i);
    for (std::size_t t = 0; t < traces.size(); ++t) {
        auto& tr = traces[t];
        auto it = by_id.find(tr.mutation_id);
        if (it == by_id.end()) {
            p.note("trace", pointer("/traces", t),
                   "mutation_id \"" + tr.mutation_id + "\" was not in the request; trace ignored", false);
            continue;
        }
        MutationRecord& m = muts[it->second];
        std::string label = "mutation:" + std::to_string(m.seq);
        auto before = p.host_json(tr.state_before_json, label + ":before", sp);
        auto after = p.host_json(tr.state_after_json, label + ":after", sp);
        if (before) m.state_before_json = to_text(*before);
        if (after) m.state_after_json = to_text(*after);
        if (before && after) diff_values(as_document(before), as_document(after), m.change_diff);
        if (before && !m.payload_json.empty()) {
            ParseFailure ignored;
            if (auto payload = try_parse(m.payload_json, &ignored, sp))
                diff_payload(as_document(before), *payload, m.payload_diff);
        }
        if (tr.conflict) {
            ConflictInfo& c = m.conflict ? *m.conflict : m.conflict.emplace();
            c.reported_by_host = true;
            c.resolver = std::move(tr.conflict->resolver);
            c.resolution = tr.conflict->resolution;
            if (!tr.conflict->reason.empty()) c.reason = std::move(tr.conflict->reason);
            if (auto st = p.host_json(tr.conflict->server_state_json, label + ":server_state", sp))
                c.server_state_json = to_text(*st);
            // What the response said to the client stays; the host fills in what it did not say.
            if (c.server_updated_at.empty()) c.server_updated_at = std::move(tr.conflict->server_updated_at);
            // A host-reported conflict the response does not mention: settle the outcome
            // from the resolution (client wins / merged end applied, the rest are conflicts).
            if (m.outcome == MutationOutcome::unknown)
                m.outcome = (c.resolution == Resolution::client_wins || c.resolution == Resolution::merged)
                                ? MutationOutcome::applied
                                : c.resolution == Resolution::rejected ? MutationOutcome::rejected
                                                                       : MutationOutcome::conflict;
        }
    }
}

void parse_pull(Processor& p, const json::value* request, const json::value* response, int http_status) {
    auto& req = p.req();
    if (request) {
        if (!request->is_object()) {
            p.note("request", "", std::string("expected a JSON object, got ") + kind_name(*request), true);
        } else {
            const auto& o = request->get_object();
            auto client = p.string_field(o, "client_id", "request", "", true, true);
            if (req.client_id.empty()) req.client_id = std::move(client);
            req.last_sync_cursor = p.int_field(o, "last_sync_cursor", "request", "", true);
            req.pull_limit = p.int_field(o, "limit", "request", "", true);
        }
    }
    if (!response) return;
    if (!response->is_object()) {
        p.note("response", "", std::string("expected a JSON object, got ") + kind_name(*response), http_status < 400);
        return;
    }
    if (http_status >= 400) return;
    const auto& o = response->get_object();
    if (const auto* s = find(o, "snapshots")) {
        if (!s->is_array()) {
            p.note("response", "/snapshots", std::string("expected an array, got ") + kind_name(*s), false);
        } else {
            req.snapshots = static_cast<std::uint32_t>(s->get_array().size());
            // A pull brings hundreds of snapshots of a few models: skip repeats while the list
            // is short (finish() sorts and dedupes anyway, so a body of many models stays linear).
            for (const auto& snap : s->get_array())
                if (snap.is_object())
                    if (auto model = get_string(snap.get_object(), "model"))
                        if (req.models.size() >= 32 ||
                            std::find(req.models.begin(), req.models.end(), *model) == req.models.end())
                            req.models.emplace_back(*model);
        }
    } else {
        p.note("response", "/snapshots", "missing; expected an array", false);
    }
    req.new_sync_cursor = p.int_field(o, "new_sync_cursor", "response", "", true);
    if (const auto* hm = find(o, "has_more")) {
        if (hm->is_bool())
            req.has_more = hm->get_bool();
        else
            p.note("response", "/has_more", std::string("expected a boolean, got ") + kind_name(*hm), false);
    }
}

// Which fields the client and the server actually disagree on: the payload against the
// server state, over the fields the payload sends (both sides already redacted).
void conflict_fields(std::vector<MutationRecord>& muts, json::storage_ptr sp) {
    for (auto& m : muts) {
        if (!m.conflict || m.payload_json.empty() || m.conflict->server_state_json.empty()) continue;
        ParseFailure ignored;
        auto server = try_parse(m.conflict->server_state_json, &ignored, sp);
        auto client = try_parse(m.payload_json, &ignored, sp);
        if (server && client) diff_payload(as_document(server), *client, m.conflict->fields);
    }
}

void finish(RequestRecord& req, std::vector<MutationRecord>& muts, const std::vector<std::string>& redacted_paths) {
    for (auto& m : muts) {
        if (!m.model.empty()) req.models.push_back(m.model);
        switch (m.outcome) {
            case MutationOutcome::applied: ++req.applied; break;
            case MutationOutcome::rejected: ++req.rejected; break;
            default: break;
        }
        if (m.conflict) ++req.conflicts;
    }
    // Mark mutations whose payload lost a value to redaction (replay must know).
    for (const auto& path : redacted_paths) {
        constexpr std::string_view prefix = "request:/mutations/";
        if (path.compare(0, prefix.size(), prefix) != 0) continue;
        std::size_t idx = 0, pos = prefix.size();
        while (pos < path.size() && path[pos] >= '0' && path[pos] <= '9') idx = idx * 10 + (path[pos++] - '0');
        if (path.compare(pos, 9, "/payload/") == 0 || path.compare(pos, std::string::npos, "/payload") == 0)
            if (idx < muts.size()) muts[idx].payload_redacted = true;
    }
    std::sort(req.models.begin(), req.models.end());
    req.models.erase(std::unique(req.models.begin(), req.models.end()), req.models.end());
    req.mutation_count = static_cast<std::uint32_t>(muts.size());

    bool protocol_error = std::any_of(req.notes.begin(), req.notes.end(), [](const ParseNote& n) { return n.protocol_error; });
    if (req.http_status >= 400 || req.request_parse_error || req.response_parse_error || protocol_error)
        req.outcome = RequestOutcome::error;
    else if (req.rejected > 0)
        req.outcome = RequestOutcome::rejected;
    else if (req.conflicts > 0)
        req.outcome = RequestOutcome::conflict;
    else
        req.outcome = RequestOutcome::ok;
}

}  // namespace

Pipeline::Pipeline(const Redactor& redactor, IdGenerator& ids, const Clock& clock, PipelineOptions options)
    : redactor_(redactor),
      ids_(ids),
      clock_(clock),
      options_(std::move(options)),
      scratch_(std::make_unique<unsigned char[]>(scratch_bytes)) {}

CapturedRequest Pipeline::process(Exchange&& ex) noexcept {
    CapturedRequest out;
    auto& req = out.request;
    try {
        // A preset id must be a ULID: storage keys and cursors depend on it.
        const bool bad_id = !ex.id.empty() && !is_valid_ulid(ex.id);
        req.id = (ex.id.empty() || bad_id) ? ids_.next() : std::move(ex.id);
        req.kind = ex.kind;
        req.client_id = std::move(ex.client_id);
        req.client_version = std::move(ex.client_version);
        req.instance = ex.instance.empty() ? options_.default_instance : std::move(ex.instance);
        req.started_at_us = ex.started_at_us;
        req.duration_us = ex.duration_us;
        req.http_status = ex.http_status;
        req.request_truncated = ex.request_truncated;
        req.response_truncated = ex.response_truncated;
        req.replay_of = std::move(ex.replay_of);
        req.replay_audit = std::move(ex.replay_audit);  // stored in the same batch as the request
        req.recorded_at_us = clock_.now_us();

        for (auto& h : ex.headers) {
            if (req.client_version.empty() && iequals(h.name, client_version_header)) req.client_version = h.value;
            if (redactor_.is_sensitive_key(h.name)) {
                req.redacted_paths.push_back("header:" + h.name);
                h.value = redactor_.marker();
            } else {
                // Values can carry secrets too (a Referer with ?token=…): scrub them as text.
                std::vector<std::string> paths;
                std::string scrubbed = scrub_text(redactor_, h.value, &paths);
                if (!paths.empty()) {
                    req.redacted_paths.push_back("header:" + h.name);
                    h.value = std::move(scrubbed);
                }
            }
            req.headers.push_back(std::move(h));
        }

        // One arena per exchange: parsed documents die together at the end.
        json::monotonic_resource arena(scratch_.get(), scratch_bytes);
        json::storage_ptr sp(&arena);
        Processor p(redactor_, options_, out);
        if (bad_id)
            p.note("recorder", "/id", "the host-supplied request id is not a ULID; a new id was assigned", false);
        auto request = p.body(std::move(ex.request_body), "request", req.request_body, req.request_parse_error,
                              req.request_body_scrubbed, req.request_body_dropped, req.request_truncated, sp);
        auto response = p.body(std::move(ex.response_body), "response", req.response_body, req.response_parse_error,
                               req.response_body_scrubbed, req.response_body_dropped, req.response_truncated, sp,
                               ex.kind == ExchangeKind::pull && !options_.keep_pull_payloads);

        if (ex.kind == ExchangeKind::push) {
            parse_push_request(p, request ? &*request : nullptr, options_.max_mutations);
            // Unknown ids in the response are only worth a note when every mutation was kept.
            parse_push_response(p, response ? &*response : nullptr, req.http_status,
                                request.has_value() && p.pushed == out.mutations.size());
            apply_traces(p, ex.traces, sp);
            conflict_fields(out.mutations, sp);
        } else {
            parse_pull(p, request ? &*request : nullptr, response ? &*response : nullptr, req.http_status);
            if (!ex.traces.empty()) p.note("trace", "", "mutation traces are ignored for pulls", false);
        }
        for (std::size_t i = 0; i < out.mutations.size(); ++i) {
            auto& m = out.mutations[i];
            m.id = ids_.next();
            m.request_id = req.id;
            m.client_id = req.client_id;
            m.instance = req.instance;
            m.started_at_us = req.started_at_us;
        }
        p.close_notes();
        finish(req, out.mutations, req.redacted_paths);
        req.mutation_count = static_cast<std::uint32_t>(std::max(p.pushed, out.mutations.size()));
    } catch (const std::exception& e) {
        // Out of memory or a bug: keep the request row (without its mutations) so the loss is visible.
        out.mutations.clear();
        req.notes.push_back({"recorder", "", std::string("internal error while processing: ") + e.what(), true});
        req.outcome = RequestOutcome::error;
        req.request_body.clear();
        req.response_body.clear();
    }
    return out;
}

}  // namespace tether::detail
