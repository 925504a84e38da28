#include "storage/failure_counts.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>
#include <set>

#include "detail/json.hpp"
#include "tether/errors.hpp"
#include "tether/telemetry.hpp"

namespace tether {

const char* to_string(FailureKind k) noexcept { return k == FailureKind::request ? "request" : "mutation"; }

std::optional<FailureGroupQuery::Sort> parse_failure_group_sort(std::string_view s) noexcept {
    if (s == "count") return FailureGroupQuery::Sort::count;
    if (s == "last_seen") return FailureGroupQuery::Sort::last_seen;
    return std::nullopt;
}

std::optional<FailureKind> parse_failure_kind(std::string_view s) noexcept {
    if (s == "mutation") return FailureKind::mutation;
    if (s == "request") return FailureKind::request;
    return std::nullopt;
}

namespace detail {
namespace {

constexpr Micros B = failure_bucket_us;
// ±2^62 µs is ±146 000 years: times beyond count at the edge, so +/- a day never overflows.
constexpr Micros time_limit = Micros{1} << 62;
constexpr std::size_t max_reason_bytes = 200;
constexpr std::size_t max_message_bytes = 300;

Micros clamp_time(Micros t) noexcept { return std::clamp(t, -time_limit, time_limit); }
Micros floor_to(Micros t, Micros width) noexcept {
    t = clamp_time(t);
    return t - ((t % width) + width) % width;
}

// Cut at a byte limit without splitting a UTF-8 sequence.
std::string cut(std::string s, std::size_t limit) {
    if (s.size() <= limit) return s;
    std::size_t n = limit;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
    return s + "…";
}

// Array indexes become "*", so that one cause is one group whichever element failed:
// "/mutations/3/model" -> "/mutations/*/model" (JSON Pointer, sep '/'), and Laravel-style
// validation keys "tags.0" -> "tags.*", "items.2.name" -> "items.*.name" (sep '.').
std::string wildcard_indexes(std::string_view path, char sep) {
    std::string out;
    out.reserve(path.size());
    for (std::size_t i = 0;;) {
        const std::size_t j = std::min(path.find(sep, i), path.size());
        const std::string_view seg = path.substr(i, j - i);
        const bool index = !seg.empty() && std::all_of(seg.begin(), seg.end(), [](char c) { return c >= '0' && c <= '9'; });
        out += index ? std::string_view("*") : seg;
        if (j == path.size()) return out;
        out += sep;
        i = j + 1;
    }
}

void cap_fields(std::vector<std::string>& fields) {
    std::sort(fields.begin(), fields.end());
    fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
    if (fields.size() > max_fingerprint_fields) {
        fields.resize(max_fingerprint_fields);
        fields.emplace_back("…");
    }
}

// Field names and the first message of a validation messages object (field -> [messages]).
void read_validation(const std::string& text, std::vector<std::string>& fields, std::string& message) {
    if (text.empty()) return;
    unsigned char buf[4096];  // a few fields' messages: no heap allocation for the usual case
    json::monotonic_resource mr(buf, sizeof buf);
    auto v = try_parse(text, nullptr, &mr);
    if (!v || !v->is_object()) return;
    for (const auto& [key, val] : v->get_object()) {
        fields.push_back(wildcard_indexes(std::string_view(key.data(), key.size()), '.'));
        if (!message.empty()) continue;
        const json::value* first = &val;
        if (val.is_array() && !val.get_array().empty()) first = &val.get_array()[0];
        if (first->is_string()) message = std::string(key) + ": " + std::string(first->get_string());
    }
}

std::string rejection_message(const std::string& data) {
    if (data.empty()) return {};
    unsigned char buf[4096];
    json::monotonic_resource mr(buf, sizeof buf);
    auto v = try_parse(data, nullptr, &mr);
    if (!v || !v->is_object()) return {};
    for (const char* key : {"message", "error"})
        if (auto s = get_string(v->get_object(), key)) return std::string(*s);
    return {};
}

std::string default_message(const std::string& reason) {
    if (reason == "not_found") return "the entity does not exist on the server";
    if (reason == "duplicate") return "the mutation_id was already processed";
    if (reason == "validation_failed") return "validation failed";
    return "rejected: " + reason;
}

std::string parse_failure_text(const char* what, const ParseFailure& f, bool truncated) {
    return std::string(what) + " is not valid JSON: " + f.message + " (line " + std::to_string(f.line) + ", column " +
           std::to_string(f.column) + ")" + (truncated ? "; the body was truncated" : "");
}

FailureRecord request_failure(const RequestRecord& r) {
    FailureRecord f;
    f.id = r.id;
    f.kind = FailureKind::request;
    f.request_id = r.id;
    f.client_id = r.client_id;
    f.client_version = r.client_version;
    f.instance = r.instance;
    f.started_at_us = r.started_at_us;
    f.http_status = r.http_status;
    // Protocol errors in what the client sent explain more than those in the answer.
    std::vector<const ParseNote*> sent, answered;
    for (const auto& n : r.notes)
        if (n.protocol_error) (n.where == "request" ? sent : answered).push_back(&n);
    auto from_notes = [&](const std::vector<const ParseNote*>& notes, const char* prefix) {
        f.reason = "protocol_error";
        for (const ParseNote* n : notes) f.fields.push_back(wildcard_indexes(n->path, '/'));
        f.message = prefix + (notes[0]->path.empty() ? std::string() : notes[0]->path + ": ") + notes[0]->message;
    };
    if (r.request_parse_error) {
        f.reason = "invalid_request_body";
        f.message = parse_failure_text("request body", *r.request_parse_error, r.request_truncated);
    } else if (!sent.empty()) {
        from_notes(sent, "request ");
    } else if (r.http_status >= 400) {
        f.reason = "http_" + std::to_string(r.http_status);
        f.message = "the server answered HTTP " + std::to_string(r.http_status);
    } else if (r.response_parse_error) {
        f.reason = "invalid_response_body";
        f.message = parse_failure_text("response body", *r.response_parse_error, r.response_truncated);
    } else if (!answered.empty()) {
        from_notes(answered, "response ");
    } else {
        f.reason = "error";
        f.message = "the request failed";
    }
    cap_fields(f.fields);
    f.message = cut(std::move(f.message), max_message_bytes);
    f.fingerprint = failure_fingerprint(f.kind, f.model, f.reason, f.fields);
    return f;
}

FailureRecord mutation_failure(const RequestRecord& r, const MutationRecord& m) {
    FailureRecord f;
    f.id = m.id;
    f.kind = FailureKind::mutation;
    f.request_id = r.id;
    f.mutation_id = m.mutation_id;
    f.entity_id = m.entity_id;
    f.model = m.model;
    f.operation = m.operation;
    f.client_id = m.client_id.empty() ? r.client_id : m.client_id;
    f.client_version = r.client_version;
    f.instance = m.instance;
    f.started_at_us = m.started_at_us;
    f.http_status = r.http_status;
    f.reason = m.reason.empty() ? "unknown" : cut(m.reason, max_reason_bytes);
    read_validation(m.validation_json, f.fields, f.message);
    if (f.message.empty()) f.message = rejection_message(m.rejection_data_json);
    if (f.message.empty()) f.message = default_message(f.reason);
    f.message = cut(std::move(f.message), max_message_bytes);
    f.messages_json = !m.validation_json.empty() ? m.validation_json : m.rejection_data_json;
    cap_fields(f.fields);
    f.fingerprint = failure_fingerprint(f.kind, f.model, f.reason, f.fields);
    return f;
}

const std::string& mutation_client(const RequestRecord& r, const MutationRecord& m) {
    return m.client_id.empty() ? r.client_id : m.client_id;
}

}  // namespace

Micros failure_bucket(Micros t) noexcept { return floor_to(t, B); }

std::string failure_fingerprint(FailureKind kind, const std::string& model, const std::string& reason,
                                const std::vector<std::string>& fields) {
    std::uint64_t h = 14695981039346656037ULL;
    auto mix = [&](std::string_view s) {
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ULL;
        }
    };
    mix("v1");
    mix("\x1f");
    mix(to_string(kind));
    mix("\x1f");
    mix(model);
    mix("\x1f");
    mix(reason);
    for (const auto& f : fields) {
        mix("\x1e");
        mix(f);
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
    return buf;
}

std::vector<FailureRecord> failures_of(const CapturedRequest& c) {
    std::vector<FailureRecord> out;
    for (const auto& m : c.mutations)
        if (m.outcome == MutationOutcome::rejected) out.push_back(mutation_failure(c.request, m));
    if (c.request.outcome == RequestOutcome::error) out.push_back(request_failure(c.request));
    return out;
}

void SeenCount::add(std::uint64_t n, Micros first, Micros last) noexcept {
    first_us = count == 0 ? first : std::min(first_us, first);
    last_us = count == 0 ? last : std::max(last_us, last);
    count += n;
}

void ClientRow::add(const ClientRow& later) {
    if (requests == 0) {
        const auto keep_seq = seq;
        *this = later;
        seq = keep_seq;
        return;
    }
    if (later.last_seen_us >= last_seen_us) {
        client_version = later.client_version;
        instance = later.instance;
    }
    first_seen_us = std::min(first_seen_us, later.first_seen_us);
    last_seen_us = std::max(last_seen_us, later.last_seen_us);
    auto latest = [](std::optional<Micros>& a, const std::optional<Micros>& b) {
        if (b && (!a || *b > *a)) a = b;
    };
    latest(last_success_us, later.last_success_us);
    latest(last_push_success_us, later.last_push_success_us);
    requests += later.requests;
    pushes += later.pushes;
    pulls += later.pulls;
    mutations += later.mutations;
    failed_requests += later.failed_requests;
    conflicted_requests += later.conflicted_requests;
    failing_streak = later.streak_reset ? later.failing_streak : failing_streak + later.failing_streak;
    streak_reset = streak_reset || later.streak_reset;
}

void ClientModelRow::add(const ClientModelRow& d) noexcept {
    mutations += d.mutations;
    failures += d.failures;
    conflicts += d.conflicts;
    last_seen_us = std::max(last_seen_us, d.last_seen_us);
}

void PoisonRow::add(const PoisonRow& later) {
    if (attempts == 0) {
        *this = later;
        return;
    }
    // Texts come from failed attempts only (applied ones carry none).
    if (later.failures > 0 && (failures == 0 || later.last_seen_us >= last_seen_us)) {
        client_id = later.client_id;
        model = later.model;
        entity_id = later.entity_id;
        last_reason = later.last_reason;
        last_request_id = later.last_request_id;
    }
    first_seen_us = std::min(first_seen_us, later.first_seen_us);
    last_seen_us = std::max(last_seen_us, later.last_seen_us);
    attempts += later.attempts;
    failures += later.failures;
    failing_streak = later.streak_reset ? later.failing_streak : failing_streak + later.failing_streak;
    streak_reset = streak_reset || later.streak_reset;
}

void FailureCounts::add(const FailureCounts& delta) {
    for (const auto& [k, g] : delta.groups) {
        auto [it, inserted] = groups.try_emplace(k, g);
        if (!inserted) it->second.seen.add(g.seen.count, g.seen.first_us, g.seen.last_us);
    }
    for (const auto& [k, s] : delta.group_clients) group_clients[k].add(s.count, s.first_us, s.last_us);
    for (const auto& [k, n] : delta.buckets) buckets[k] += n;
    for (const auto& [k, c] : delta.clients) clients[k].add(c);
    for (const auto& [k, c] : delta.client_models) client_models[k].add(c);
    for (const auto& [k, p] : delta.poison) {
        if (p.failures == 0) {  // an applied attempt only matters for an id that failed before
            if (auto it = poison.find(k); it != poison.end()) it->second.add(p);
            continue;
        }
        poison[k].add(p);
    }
}

std::size_t FailureCounts::prune(Micros before_us) {
    std::size_t n = 0;
    auto erase_if = [&](auto& m, auto old) {
        for (auto it = m.begin(); it != m.end();)
            if (old(it->first, it->second)) {
                it = m.erase(it);
                ++n;
            } else {
                ++it;
            }
    };
    erase_if(groups, [&](const auto&, const GroupRow& g) { return g.seen.last_us < before_us; });
    erase_if(group_clients, [&](const auto&, const SeenCount& s) { return s.last_us < before_us; });
    erase_if(buckets, [&](const BucketKey& k, auto) { return std::get<2>(k) <= clamp_time(before_us) - B; });
    erase_if(clients, [&](const auto&, const ClientRow& c) { return c.last_seen_us < before_us; });
    erase_if(client_models, [&](const auto&, const ClientModelRow& c) { return c.last_seen_us < before_us; });
    erase_if(poison, [&](const auto&, const PoisonRow& p) { return p.last_seen_us < before_us; });
    return n;
}

std::size_t FailureCounts::trim_poison(std::uint64_t keep) {
    // In memory the whole trim is quick: no per-call cap needed.
    if (poison.size() <= keep) return 0;
    std::vector<Micros> seen;
    seen.reserve(poison.size());
    for (const auto& [id, p] : poison) seen.push_back(p.last_seen_us);
    // The (keep+1)-th newest time is the cut-off; everything seen at or before it goes.
    const auto cut = seen.begin() + static_cast<std::ptrdiff_t>(keep);
    std::nth_element(seen.begin(), cut, seen.end(), std::greater<>());
    const Micros cutoff = *cut;
    std::size_t n = 0;
    for (auto it = poison.begin(); it != poison.end();)
        if (it->second.last_seen_us <= cutoff) {
            it = poison.erase(it);
            ++n;
        } else {
            ++it;
        }
    return n;
}

FailureCounts failure_delta(const std::vector<CapturedRequest>& batch, std::vector<FailureRecord>& failures) {
    FailureCounts d;
    // Streaks need the order in which clients sent their requests.
    std::vector<const CapturedRequest*> order;
    order.reserve(batch.size());
    for (const auto& c : batch) order.push_back(&c);
    std::stable_sort(order.begin(), order.end(), [](const CapturedRequest* a, const CapturedRequest* b) {
        return a->request.started_at_us < b->request.started_at_us;
    });
    for (const CapturedRequest* c : order) {
        const RequestRecord& r = c->request;
        if (r.is_replay()) continue;
        const Micros t = r.started_at_us;
        for (auto& f : failures_of(*c)) {
            GroupKey key{f.fingerprint, f.instance};
            auto [g, inserted] = d.groups.try_emplace(key);
            if (inserted) {
                g->second.kind = f.kind;
                g->second.model = f.model;
                g->second.reason = f.reason;
                g->second.fields = f.fields;
            }
            g->second.seen.add(1, f.started_at_us, f.started_at_us);
            d.group_clients[{f.fingerprint, f.instance, f.client_id}].add(1, f.started_at_us, f.started_at_us);
            d.buckets[{f.fingerprint, f.instance, failure_bucket(f.started_at_us)}] += 1;
            failures.push_back(std::move(f));
        }
        if (!r.client_id.empty()) {
            ClientRow row;
            row.client_version = r.client_version;
            row.instance = r.instance;
            row.first_seen_us = row.last_seen_us = t;
            row.requests = 1;
            (r.kind == ExchangeKind::push ? row.pushes : row.pulls) = 1;
            row.mutations = r.mutation_count;
            row.failed_requests = r.failed() ? 1 : 0;
            row.conflicted_requests = r.conflicts > 0 ? 1 : 0;
            if (r.outcome == RequestOutcome::ok) row.last_success_us = t;
            if (r.kind == ExchangeKind::push) {
                if (r.outcome == RequestOutcome::ok) {
                    row.last_push_success_us = t;
                    row.streak_reset = true;
                } else {
                    row.failing_streak = 1;
                }
            }
            d.clients[r.client_id].add(row);
        }
        for (const auto& m : c->mutations) {
            const std::string& client = mutation_client(r, m);
            const bool rejected = m.outcome == MutationOutcome::rejected;
            if (!client.empty()) {
                auto& cm = d.client_models[{client, m.model}];
                cm.add({1, rejected ? 1u : 0u, m.conflict ? 1u : 0u, m.started_at_us});
            }
            if (m.mutation_id.empty() || m.outcome == MutationOutcome::unknown) continue;
            const bool failed = rejected || m.outcome == MutationOutcome::conflict;
            PoisonRow p;
            p.attempts = 1;
            p.first_seen_us = p.last_seen_us = m.started_at_us;
            if (failed) {  // applied attempts only reset rows that exist: no texts needed
                p.client_id = client;
                p.model = m.model;
                p.entity_id = m.entity_id;
                p.failures = 1;
                p.failing_streak = 1;
                p.last_reason = m.reason.empty() ? std::string(to_string(m.outcome)) : cut(m.reason, max_reason_bytes);
                p.last_request_id = r.id;
            } else {
                p.streak_reset = true;
            }
            d.poison[m.mutation_id].add(p);
        }
    }
    return d;
}

GroupBuckets::GroupBuckets(Micros now_us, bool hourly) noexcept
    : last_to_(failure_bucket(now_us) + B),
      hours_from_(floor_to(now_us, one_hour_us) - 23 * one_hour_us),
      hourly_(hourly) {
    last_from_ = last_to_ - 12 * B;
    prev_from_ = last_from_ - 12 * B;
}

Micros GroupBuckets::from_us() const noexcept { return hourly_ ? std::min(prev_from_, hours_from_) : prev_from_; }
Micros GroupBuckets::to_us() const noexcept {
    return hourly_ ? std::max(last_to_, hours_from_ + 24 * one_hour_us) : last_to_;
}

void GroupBuckets::add(Micros start, std::uint64_t n) {
    if (start >= last_from_ && start < last_to_) last_ += n;
    if (start >= prev_from_ && start < last_from_) previous_ += n;
    if (hourly_ && start >= hours_from_ && start < hours_from_ + 24 * one_hour_us)
        per_hour_[start - (start - hours_from_) % one_hour_us] += n;  // buckets line up with hours
}

void GroupBuckets::finish(FailureGroup& g) const {
    g.last_hour = last_;
    g.previous_hour = previous_;
    g.hourly.clear();
    if (!hourly_) return;
    for (int h = 0; h < 24; ++h) {
        const Micros start = hours_from_ + h * one_hour_us;
        auto it = per_hour_.find(start);
        g.hourly.push_back({start, it == per_hour_.end() ? 0 : it->second});
    }
}

std::string explain(const FailureGroup& g) {
    std::string s;
    auto join = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
        return out;
    };
    const std::string model = g.model.empty() ? "(no model)" : g.model;
    if (g.kind == FailureKind::mutation) {
        s = "Rejected " + model + " mutations with reason \"" + g.reason + "\"";
        if (!g.fields.empty()) s += " on the fields " + join(g.fields);
        s += g.fields.empty() ? ": one group because the model and the reason are the same."
                              : ": one group because the model, the reason and the failing fields are the same.";
    } else {
        s = "Requests that failed with \"" + g.reason + "\"";
        if (!g.fields.empty()) s += " at " + join(g.fields);
        s += g.fields.empty() ? ": one group because the failure reason is the same."
                              : ": one group because the failure reason and the offending fields are the same.";
    }
    if (!g.systematic) return s;
    const FailureGroupClient* c = nullptr;
    for (const auto& x : g.top_clients)
        if (x.systematic) {
            c = &x;
            break;
        }
    if (!c) return s;
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.0f%%", c->ratio * 100);
    s += " Systematic: client " + c->client_id + " failed " + std::to_string(c->failures) + " of its " +
         std::to_string(c->attempts) + (g.kind == FailureKind::mutation ? " " + model + " mutations" : " requests") +
         " (" + pct + ")";
    if (g.systematic_clients.size() > 1)
        s += ", and " + std::to_string(g.systematic_clients.size() - 1) + " more client" +
             (g.systematic_clients.size() > 2 ? "s" : "") + " fail the same way";
    return s + ".";
}

void finish_group(FailureGroup& g, const FailureThresholds& t) {
    for (auto& c : g.top_clients) {
        c.ratio = c.attempts ? std::min(1.0, static_cast<double>(c.failures) / static_cast<double>(c.attempts)) : 0.0;
        c.systematic = !c.client_id.empty() && c.attempts > 0 && c.failures >= t.systematic_min_failures &&
                       c.ratio >= t.systematic_min_ratio;
    }
    std::sort(g.top_clients.begin(), g.top_clients.end(), [](const FailureGroupClient& a, const FailureGroupClient& b) {
        if (a.systematic != b.systematic) return a.systematic;
        if (a.failures != b.failures) return a.failures > b.failures;
        return a.client_id < b.client_id;
    });
    g.systematic_clients.clear();
    for (const auto& c : g.top_clients)
        if (c.systematic) g.systematic_clients.push_back(c.client_id);
    g.systematic = !g.systematic_clients.empty();
    if (g.top_clients.size() > max_top_clients) g.top_clients.resize(max_top_clients);
    g.explanation = explain(g);
}

void validate_limit(std::size_t limit) { validate_page(PageRequest{limit, {}}); }

ClientSummary client_summary(const std::string& client_id, const ClientRow& row, const FailureThresholds& t) {
    ClientSummary s;
    s.client_id = client_id;
    s.client_version = row.client_version;
    s.instance = row.instance;
    s.first_seen_us = row.first_seen_us;
    s.last_seen_us = row.last_seen_us;
    s.last_success_us = row.last_success_us;
    s.last_push_success_us = row.last_push_success_us;
    s.requests = row.requests;
    s.pushes = row.pushes;
    s.pulls = row.pulls;
    s.mutations = row.mutations;
    s.failed_requests = row.failed_requests;
    s.conflicted_requests = row.conflicted_requests;
    s.failing_streak = row.failing_streak;
    s.stuck = t.stuck_after_pushes > 0 && row.failing_streak >= t.stuck_after_pushes;
    return s;
}

}  // namespace detail
}  // namespace tether
