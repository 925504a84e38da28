#include "api.hpp"

#include <array>
#include <cstdint>
#include <string_view>

#include "http_util.hpp"
#include "tether/observer.hpp"
#include "tether/record_json.hpp"
#include "tether/replay_engine.hpp"

namespace tether::beast::detail {

namespace {

using http::verb;

// Ids in paths are ULIDs or client ids; anything longer is not one of ours.
constexpr std::size_t max_id_length = 256;

[[noreturn]] void not_found(std::string_view what, std::string_view id) {
    throw HttpError(http::status::not_found, "not_found", "no " + std::string(what) + " with id '" + std::string(id) + "'");
}

const std::string& id_arg(const Call& call, std::size_t i, std::string_view what) {
    const std::string& id = call.args.at(i);
    if (id.empty() || id.size() > max_id_length) not_found(what, id.substr(0, 64));
    return id;
}

// A cursor leaves the API sealed to the list that issued it (and to the request, for a
// request's mutations and its replay preview). Pasted into another list, or edited, it is a
// clear 400 instead of a page from some arbitrary position. The seal is a checksum, not a
// secret: cursors only ever select rows the caller may list anyway.
constexpr std::size_t seal_chars = 12;

std::string seal_of(std::string_view scope, std::string_view cursor) {
    std::uint64_t h = 14695981039346656037ULL;  // FNV-1a over "v1", scope, cursor
    for (std::string_view part : {std::string_view("v1"), scope, cursor}) {
        for (unsigned char ch : part) {
            h ^= ch;
            h *= 1099511628211ULL;
        }
        h ^= 0xff;  // a separator no text byte of a valid scope or cursor can forge
        h *= 1099511628211ULL;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(seal_chars, '0');
    for (std::size_t i = 0; i < seal_chars; ++i) out[i] = hex[(h >> (4 * i)) & 15];
    return out;
}

template <class P>
P sealed(P page, std::string_view scope) {
    if (!page.next_cursor.empty()) page.next_cursor += "." + seal_of(scope, page.next_cursor);
    return page;
}

PageRequest page_of(const Query& q, std::string_view scope, std::size_t default_limit = 50) {
    PageRequest page;
    page.limit = q.limit(default_limit);
    const std::string given = q.text("cursor", 512);
    if (given.empty()) return page;
    const auto dot = given.rfind('.');
    if (dot == std::string::npos || given.size() - dot - 1 != seal_chars)
        Query::invalid("cursor", "is not a cursor of this API; expected the next_cursor value of a previous page");
    page.cursor = given.substr(0, dot);
    if (given.compare(dot + 1, seal_chars, seal_of(scope, page.cursor)) != 0)
        Query::invalid("cursor", "was issued for another list or was altered; expected the next_cursor value of a "
                                 "previous page of this list");
    return page;
}

// Time range filters shared by every list: from <= started_at < to.
template <class Filter>
void time_range(const Query& q, Filter& f) {
    f.from_us = q.time("from");
    f.to_us = q.time("to");
    if (f.from_us && f.to_us && *f.to_us < *f.from_us) Query::invalid("to", "must not be earlier than 'from'");
}

// ---- metrics ---------------------------------------------------------------------------

std::string metrics(Call& c) {
    c.query.allow_only({"window", "instance"});
    auto window = c.query.choice("window", parse_metrics_window, "1h, 6h, 24h, 7d").value_or(MetricsWindow::h24);
    return c.metrics.json(window, c.query.text("instance"));
}

std::string prometheus(Call& c) {
    c.query.allow_only({});
    c.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    return c.observer.openmetrics();
}

// ---- requests and mutations ------------------------------------------------------------

std::string list_requests(Call& c) {
    const Query& q = c.query;
    q.allow_only({"kind", "client_id", "model", "outcome", "instance", "from", "to", "failed", "limit", "cursor"});
    RequestFilter f;
    f.kind = q.choice("kind", parse_exchange_kind, "push, pull");
    f.client_id = q.text("client_id");
    f.model = q.text("model");
    f.instance = q.text("instance");
    if (q.text("outcome") == "failed")
        f.failed_only = true;
    else
        f.outcome = q.choice("outcome", parse_request_outcome, "ok, conflict, rejected, error, failed");
    if (auto failed = q.flag("failed")) {
        if (!*failed) Query::invalid("failed", "only 1 (failed requests) filters; for the others use outcome=ok or outcome=conflict");
        f.failed_only = true;
    }
    time_range(q, f);
    return to_json(sealed(c.observer.storage().list_requests(f, page_of(q, "requests")), "requests"));
}

std::string get_request(Call& c) {
    c.query.allow_only({});
    const auto& id = id_arg(c, 0, "request");
    auto r = c.observer.storage().get_request(id);
    if (!r) not_found("request", id);
    // The replays of this request (newest first) join the detail, so the page links both ways.
    PageRequest page;
    page.limit = PageRequest::max_limit;
    auto replays = c.observer.replay().replays(id, page);
    std::string json = to_json(*r);
    json.pop_back();  // the closing brace of the object
    json += ",\"replays\":" + replay_links_json(replays.items);
    // A replay also shows its own audit (who, when, the id map, what was skipped): the link
    // as the original lists it, or null for a request that is not a replay.
    std::string self = "null";
    if (!r->replay_of.empty()) {
        self = replay_links_json({ReplayLink{r->id, r->replay_of, r->started_at_us, r->http_status, r->outcome,
                                             r->replay_audit}});
        self = self.substr(1, self.size() - 2);  // the one element of the array
    }
    return json + ",\"replay\":" + self + "}";
}

std::string list_mutations(Call& c) {
    const Query& q = c.query;
    q.allow_only({"outcome", "model", "conflicted", "limit", "cursor"});
    const auto& id = id_arg(c, 0, "request");
    MutationFilter f;
    f.outcome = q.choice("outcome", parse_mutation_outcome, "applied, rejected, conflict, unknown");
    f.model = q.text("model");
    f.conflicted_only = q.flag("conflicted").value_or(false);
    const std::string scope = "mutations/" + id;
    auto page = page_of(q, scope, 100);
    auto result = c.observer.storage().list_mutations(id, f, page);
    // An unknown request and a request without matching mutations look alike in a page;
    // only the first (uncursored) page pays for telling them apart.
    if (result.items.empty() && page.cursor.empty() && !c.observer.storage().get_request(id)) not_found("request", id);
    return to_json(sealed(std::move(result), scope));
}

std::string get_mutation(Call& c) {
    c.query.allow_only({});
    const auto& id = id_arg(c, 0, "mutation");
    auto m = c.observer.storage().get_mutation(id);
    if (!m) not_found("mutation", id);
    return to_json(*m);
}

// ---- replay (docs/replay.md) ----------------------------------------------------------------

std::string replay_preview(Call& c) {
    c.query.allow_only({"limit", "cursor"});
    const auto& id = id_arg(c, 0, "request");
    const std::string scope = "replay-preview/" + id;
    return to_json(sealed(c.observer.replay().preview(id, page_of(c.query, scope, 100)), scope));
}

std::string replay_live(Call& c) {
    c.query.allow_only({});
    const auto& id = id_arg(c, 0, "request");
    ReplayOptions options = parse_replay_options(c.request.body());
    options.by = c.identity.to_string();
    auto result = c.observer.replay().replay(id, options);
    c.status = http::status::created;
    return to_json(result);
}

// ---- conflicts ---------------------------------------------------------------------------

std::string list_conflicts(Call& c) {
    const Query& q = c.query;
    q.allow_only({"model", "client_id", "entity_id", "resolver", "resolution", "instance", "from", "to", "limit",
                  "cursor"});
    ConflictFilter f;
    f.model = q.text("model");
    f.client_id = q.text("client_id");
    f.entity_id = q.text("entity_id");
    f.resolver = q.text("resolver");
    f.instance = q.text("instance");
    f.resolution = q.choice("resolution", parse_resolution, "server_wins, client_wins, merged, rejected");
    time_range(q, f);
    return to_json(sealed(c.observer.conflicts().list(f, page_of(q, "conflicts")), "conflicts"));
}

std::string get_conflict(Call& c) {
    c.query.allow_only({});
    const auto& id = id_arg(c, 0, "conflict");
    auto conflict = c.observer.conflicts().get(id);
    if (!conflict) not_found("conflict", id);
    return to_json(*conflict);
}

std::string conflict_patterns(Call& c) {
    const Query& q = c.query;
    q.allow_only({"from", "to", "instance", "top"});
    ConflictPatternQuery query;
    const Micros now = c.observer.clock().now_us();
    constexpr Micros day = 86'400'000'000;
    query.to_us = q.time("to").value_or(now);
    // Saturating: `to` may be any microsecond count, even the most negative (found by fuzz/dashboard).
    query.from_us = q.time("from").value_or(query.to_us < INT64_MIN + day ? INT64_MIN : query.to_us - day);
    if (query.to_us < query.from_us) Query::invalid("to", "must not be earlier than 'from'");
    query.instance = q.text("instance");
    query.top_n = static_cast<std::size_t>(q.number("top", 10, 0, 100));
    return to_json(c.observer.conflicts().patterns(query));
}

// ---- failures and clients ------------------------------------------------------------------

std::string list_failures(Call& c) {
    const Query& q = c.query;
    q.allow_only({"fingerprint", "model", "client_id", "reason", "kind", "instance", "from", "to", "limit", "cursor"});
    FailureFilter f;
    f.fingerprint = q.text("fingerprint");
    f.model = q.text("model");
    f.client_id = q.text("client_id");
    f.reason = q.text("reason");
    f.instance = q.text("instance");
    f.kind = q.choice("kind", parse_failure_kind, "mutation, request");
    time_range(q, f);
    return to_json(sealed(c.observer.failures().list(f, page_of(q, "failures")), "failures"));
}

std::string failure_groups(Call& c) {
    const Query& q = c.query;
    q.allow_only({"model", "reason", "instance", "client_id", "systematic", "sort", "limit"});
    FailureGroupQuery query;
    query.model = q.text("model");
    query.reason = q.text("reason");
    query.instance = q.text("instance");
    query.client_id = q.text("client_id");
    query.systematic_only = q.flag("systematic").value_or(false);
    query.sort = q.choice("sort", parse_failure_group_sort, "count, last_seen").value_or(FailureGroupQuery::Sort::count);
    query.limit = q.limit(20);
    return to_json(c.observer.failures().groups(query));
}

std::string failure_group(Call& c) {
    c.query.allow_only({"instance"});
    const auto& fp = id_arg(c, 0, "failure group");
    const std::string instance = c.query.text("instance");
    auto group = c.observer.failures().group(fp, instance);
    if (!group && !instance.empty() && c.observer.failures().group(fp, ""))
        throw HttpError(http::status::not_found, "not_found",
                        "failure group '" + fp + "' has no failures on instance '" + instance + "'");
    if (!group) not_found("failure group", fp);
    return to_json(*group);
}

std::string poison(Call& c) {
    c.query.allow_only({"client_id", "limit"});
    PoisonQuery query;
    query.client_id = c.query.text("client_id");
    query.limit = c.query.limit(50);
    return to_json(c.observer.failures().poison(query));
}

std::string list_clients(Call& c) {
    c.query.allow_only({"stuck", "limit", "cursor"});
    ClientFilter f;
    f.stuck_only = c.query.flag("stuck").value_or(false);
    return to_json(sealed(c.observer.failures().clients(f, page_of(c.query, "clients")), "clients"));
}

std::string get_client(Call& c) {
    c.query.allow_only({});
    const auto& id = id_arg(c, 0, "client");
    auto failures = c.observer.failures();
    auto client = failures.client(id);
    if (!client) not_found("client", id);
    PoisonQuery poison;
    poison.client_id = id;
    return to_json(*client, failures.client_models(id), failures.poison(poison));
}

// ---- the table ---------------------------------------------------------------------------------

struct Route {
    std::array<const char*, 5> pattern;  ///< "*" matches one segment; nullptr ends the pattern
    verb method;
    Handler handler;
};

const Route routes[] = {
    {{"metrics"}, verb::get, metrics},
    {{"metrics", "prometheus"}, verb::get, prometheus},
    {{"api", "requests"}, verb::get, list_requests},
    {{"api", "requests", "*"}, verb::get, get_request},
    {{"api", "requests", "*", "mutations"}, verb::get, list_mutations},
    {{"api", "requests", "*", "replay", "preview"}, verb::get, replay_preview},
    {{"api", "requests", "*", "replay"}, verb::post, replay_live},
    {{"api", "mutations", "*"}, verb::get, get_mutation},
    {{"api", "conflicts"}, verb::get, list_conflicts},
    {{"api", "conflicts", "patterns"}, verb::get, conflict_patterns},
    {{"api", "conflicts", "*"}, verb::get, get_conflict},
    {{"api", "failures"}, verb::get, list_failures},
    {{"api", "failures", "groups"}, verb::get, failure_groups},
    {{"api", "failures", "groups", "*"}, verb::get, failure_group},
    {{"api", "failures", "poison"}, verb::get, poison},
    {{"api", "clients"}, verb::get, list_clients},
    {{"api", "clients", "*"}, verb::get, get_client},
};

// Literal segments win over wildcards ("conflicts/patterns" is not a conflict id).
bool matches(const Route& r, const Segments& segments, Segments& args, bool& exact_literals) {
    std::size_t n = 0;
    while (n < r.pattern.size() && r.pattern[n]) ++n;
    if (n != segments.size()) return false;
    Segments found;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::string_view(r.pattern[i]) == "*")
            found.push_back(segments[i]);
        else if (segments[i] != r.pattern[i])
            return false;
    }
    exact_literals = found.empty();
    args = std::move(found);
    return true;
}

}  // namespace

RouteMatch match_route(verb method, const Segments& segments) {
    RouteMatch best;
    const verb wanted = method == verb::head ? verb::get : method;
    std::size_t best_wildcards = SIZE_MAX;
    for (const auto& r : routes) {
        Segments args;
        bool literal = false;
        if (!matches(r, segments, args, literal)) continue;
        // A literal route shadows wildcard routes of the same shape entirely.
        if (args.size() > best_wildcards) continue;
        if (args.size() < best_wildcards) {
            best = RouteMatch{};
            best_wildcards = args.size();
        }
        best.path_known = true;
        const char* name = r.method == verb::get ? "GET, HEAD" : "POST";
        best.allow += (best.allow.empty() ? "" : ", ") + std::string(name);
        if (r.method == wanted) {
            best.handler = r.handler;
            best.args = std::move(args);
        }
    }
    return best;
}

}  // namespace tether::beast::detail
