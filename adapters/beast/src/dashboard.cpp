#include "tether/beast/dashboard.hpp"

#include <boost/url/parse_path.hpp>
#include <boost/url/segments_view.hpp>
#include <algorithm>
#include <stdexcept>

#include "api.hpp"
#include "assets.hpp"
#include "event_streams.hpp"
#include "http_util.hpp"
#include "tether/errors.hpp"
#include "tether/observer.hpp"

namespace tether::beast {

using namespace detail;

namespace {

std::string validated_prefix(std::string prefix) {
    if (prefix.empty()) return prefix;
    const bool ok = prefix.front() == '/' && prefix.back() != '/' && prefix.find("//") == std::string::npos &&
                    prefix.find_first_of("?#%\\ \t\r\n") == std::string::npos;
    if (!ok)
        throw std::invalid_argument("dashboard prefix '" + prefix +
                                    "' must be empty or start with '/', not end with '/', and contain no '//', "
                                    "'?', '#', '%', '\\' or whitespace");
    return prefix;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

Segments decode_segments(std::string_view rest) {
    auto path = boost::urls::parse_path(rest);
    if (!path)
        throw HttpError(http::status::bad_request, "invalid_target", "the request path is not valid: " +
                                                                         path.error().message());
    Segments out;
    for (auto seg : boost::urls::segments_view(*path)) out.push_back(std::move(seg));
    return out;
}

// Every answer leaves through here: a HEAD answer (errors and refusals included) keeps its
// headers but must carry no body, or a keep-alive client would read it as the next response.
Response finish(const Request& req, Response res) {
    if (req.method() == http::verb::head) strip_body_for_head(res);
    return res;
}

}  // namespace

struct Dashboard::Impl {
    Impl(Observer& o, DashboardOptions opts)
        : observer(o), options(std::move(opts)), metrics(observer, options.metrics_cache_ttl), hub(observer, metrics, options) {
        options.prefix = validated_prefix(std::move(options.prefix));
        chain = options.middleware.empty() ? std::vector<Middleware>{loopback_only()} : options.middleware;
    }

    Observer& observer;
    DashboardOptions options;
    std::vector<Middleware> chain;
    MetricsCache metrics;
    EventHub hub;
    std::atomic<std::uint64_t> requests{0}, denied{0};

    std::optional<Identity> authorize(const Request& req, const boost::asio::ip::address& remote,
                                      std::optional<Response>& refusal);
    Response route(const Request& req, std::string_view rest, const Identity& who);
    Response serve_index(const Request& req, const Query& query, const Identity& who);
    Response serve_asset(const Request& req, const std::string& name);
    void check_same_origin(const Request& req) const;

    // An internal error, for the host's ErrorHandler: method and path only (the query may
    // hold a sign-in token).
    void report(const Request& req, std::string_view what) const noexcept {
        try {
            ErrorEvent event;
            event.source = ErrorSource::dashboard;
            event.message = std::string(req.method_string()) + " " +
                            std::string(path_of(req.target())).substr(0, 200) + ": " + std::string(what);
            observer.report_error(event);
        } catch (...) {
        }
    }
};

std::optional<Identity> Dashboard::Impl::authorize(const Request& req, const boost::asio::ip::address& remote,
                                                   std::optional<Response>& refusal) {
    RequestView view{req, remote};
    std::string challenges;
    for (const auto& middleware : chain) {
        AuthDecision d = middleware(view);
        if (d.verdict == AuthDecision::Verdict::allow) return std::move(d.identity);
        if (d.verdict == AuthDecision::Verdict::deny) {
            HttpError e(d.status == 401 ? http::status::unauthorized : http::status::forbidden,
                        d.status == 401 ? "unauthorized" : "forbidden", d.message);
            if (d.status == 401 && !d.challenge.empty()) e.with(http::field::www_authenticate, d.challenge);
            refusal = error_response(req, e);
            return std::nullopt;
        }
        if (!d.challenge.empty()) challenges += (challenges.empty() ? "" : ", ") + d.challenge;
    }
    if (challenges.empty()) {
        refusal = error_response(req, HttpError(http::status::forbidden, "forbidden",
                                                options.middleware.empty()
                                                    ? "the dashboard only answers loopback clients unless the host "
                                                      "configures authentication"
                                                    : "this client is not allowed to see the dashboard"));
    } else {
        refusal = error_response(req, HttpError(http::status::unauthorized, "unauthorized",
                                                "authentication is required to see the dashboard")
                                          .with(http::field::www_authenticate, challenges));
    }
    return std::nullopt;
}

void Dashboard::Impl::check_same_origin(const Request& req) const {
    // Browsers send Origin with every POST; a mismatch is a cross-site request. Requests
    // without it come from non-browser clients, unless Fetch Metadata says otherwise.
    const std::string_view host(req[http::field::host].data(), req[http::field::host].size());
    const std::string_view origin(req[http::field::origin].data(), req[http::field::origin].size());
    if (!origin.empty()) {
        bool ok = origin == "http://" + std::string(host) || origin == "https://" + std::string(host);
        for (const auto& allowed : options.allowed_origins) ok = ok || origin == allowed;
        if (!ok)
            throw HttpError(http::status::forbidden, "cross_origin",
                            "cross-origin POST refused: Origin does not match the dashboard's host");
    } else {
        const auto site = req["Sec-Fetch-Site"];
        if (!site.empty() && site != "same-origin" && site != "none")
            throw HttpError(http::status::forbidden, "cross_origin", "cross-site POST refused");
    }
    const auto type = req[http::field::content_type];
    if (type.substr(0, 16) != "application/json")
        throw HttpError(http::status::unsupported_media_type, "unsupported_media_type",
                        "expected a JSON body with Content-Type: application/json");
}

Response Dashboard::Impl::serve_index(const Request& req, const Query& query, const Identity& who) {
    query.allow_only({"token"});
    const std::string token = query.text("token", 1024);
    // bearer_token() verified this very value (same decoding) and its characters are
    // cookie-safe (checked when the middleware was built); a token allowed by anything else
    // never reaches the cookie.
    if (who.sign_in_link && req.method() == http::verb::get && !token.empty()) {
        // Keep the token in an HttpOnly cookie and take it out of the address bar and
        // history. Lax, not Strict: the link is usually followed from another site (chat,
        // ticket), and Strict would withhold the cookie on that navigation; writes stay
        // protected by the Origin and Content-Type checks.
        auto res = make_response(req, http::status::see_other, "text/plain; charset=utf-8", "");
        res.set(http::field::location, options.prefix + "/");
        res.set(http::field::set_cookie, std::string(token_cookie) + "=" + token + "; Path=" + options.prefix +
                                             "/; HttpOnly; SameSite=Lax" + (options.secure_cookie ? "; Secure" : ""));
        return res;
    }
    auto res = make_response(req, http::status::ok, "text/html; charset=utf-8", render_index(options.prefix));
    res.set(http::field::cache_control, "no-cache");
    return res;
}

Response Dashboard::Impl::serve_asset(const Request& req, const std::string& name) {
    const EmbeddedAsset* asset = find_asset(name);
    if (!asset || name == "index.html")
        throw HttpError(http::status::not_found, "not_found", "no dashboard asset called '" + name.substr(0, 64) + "'");
    if (req[http::field::if_none_match] == asset->etag) {
        auto res = make_response(req, http::status::not_modified, content_type_of(name), "");
        res.set(http::field::etag, asset->etag);
        res.set(http::field::cache_control, "no-cache");
        return res;
    }
    auto res = make_response(req, http::status::ok, content_type_of(name), std::string(asset->data, asset->size));
    res.set(http::field::etag, asset->etag);
    res.set(http::field::cache_control, "no-cache");  // names are not content-hashed: revalidate
    return res;
}

Response Dashboard::Impl::route(const Request& req, std::string_view rest, const Identity& who) {
    const auto method = req.method();
    const bool read = method == http::verb::get || method == http::verb::head;
    const Query query = Query::parse(req.target());

    if (rest.empty() || rest == "/") {
        if (!read) throw HttpError(http::status::method_not_allowed, "method_not_allowed",
                                   "the dashboard page only answers GET and HEAD").with(http::field::allow, "GET, HEAD");
        if (rest.empty()) {  // the page loads its assets relatively: it must end with '/'
            auto res = make_response(req, http::status::permanent_redirect, "text/plain; charset=utf-8", "");
            const auto target = req.target();
            const auto q = target.find('?');
            res.set(http::field::location,
                    options.prefix + "/" + (q == std::string_view::npos ? "" : std::string(target.substr(q))));
            return res;
        }
        return serve_index(req, query, who);
    }

    const Segments segments = decode_segments(rest);
    if (segments.size() == 2 && segments[0] == "assets") {
        if (!read) throw HttpError(http::status::method_not_allowed, "method_not_allowed",
                                   "assets only answer GET and HEAD").with(http::field::allow, "GET, HEAD");
        query.allow_only({"v"});
        return serve_asset(req, segments[1]);
    }
    if (segments.size() == 2 && segments[0] == "api" && segments[1] == "events") {
        if (method != http::verb::get)
            throw HttpError(http::status::method_not_allowed, "method_not_allowed", "the event stream answers GET")
                .with(http::field::allow, "GET");
        query.allow_only({});
        if (!hub.has_room())
            throw HttpError(http::status::service_unavailable, "too_many_streams",
                            "the live-update connection limit is reached; the dashboard falls back to polling")
                .with(http::field::retry_after, "30");
        auto res = make_response(req, http::status::ok, "text/event-stream; charset=utf-8", "");
        res.chunked(false);
        res.erase(http::field::content_length);
        res.keep_alive(false);  // the body ends when the connection does
        res.set("X-Accel-Buffering", "no");
        return res;
    }

    RouteMatch match = match_route(method, segments);
    if (!match.path_known)
        throw HttpError(http::status::not_found, "not_found",
                        "no dashboard route " + std::string(req.method_string()) + " " +
                            std::string(path_of(req.target())).substr(0, 200));
    if (!match.handler)
        throw HttpError(http::status::method_not_allowed, "method_not_allowed",
                        std::string(req.method_string()) + " is not supported here; use " + match.allow)
            .with(http::field::allow, match.allow);
    if (!read) check_same_origin(req);

    Call call{observer, metrics, req, query, who, std::move(match.args)};
    std::string body = match.handler(call);
    return make_response(req, call.status, call.content_type, std::move(body));
}

Dashboard::Dashboard(Observer& observer, DashboardOptions options)
    : impl_(std::make_unique<Impl>(observer, std::move(options))) {}

Dashboard::~Dashboard() = default;

const std::string& Dashboard::prefix() const noexcept { return impl_->options.prefix; }

bool Dashboard::owns(std::string_view target) const noexcept {
    const std::string_view path = path_of(target);
    const std::string& prefix = impl_->options.prefix;
    if (path.substr(0, prefix.size()) != prefix) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::optional<Response> Dashboard::handle(const Request& req, const boost::asio::ip::address& remote) {
    if (!owns(req.target())) return std::nullopt;
    auto& im = *impl_;
    im.requests.fetch_add(1, std::memory_order_relaxed);
    try {
        std::optional<Response> refusal;
        auto who = im.authorize(req, remote, refusal);
        if (!who) {
            im.denied.fetch_add(1, std::memory_order_relaxed);
            return finish(req, std::move(*refusal));
        }
        if (req.target().size() > im.options.target_limit)
            throw HttpError(http::status::uri_too_long, "uri_too_long",
                            "the request target is longer than " + std::to_string(im.options.target_limit) + " bytes");
        if (req.body().size() > im.options.body_limit)
            throw HttpError(http::status::payload_too_large, "payload_too_large",
                            "the request body is larger than " + std::to_string(im.options.body_limit) + " bytes");
        const std::string_view path = path_of(req.target());
        return finish(req, im.route(req, path.substr(im.options.prefix.size()), *who));
    } catch (const HttpError& e) {
        return finish(req, error_response(req, e));
    } catch (const ReplayError& e) {
        return finish(req, error_response(req, HttpError(static_cast<http::status>(e.http_status()), e.code(), e.what())));
    } catch (const InvalidArgument& e) {
        // Worded like the API's own parameter errors: say where the value was.
        const std::string& name = e.parameter();
        const std::string where = req.method() == http::verb::post
                                      ? (name == "body" ? std::string("the request body") : "body field '" + name + "'")
                                      : "query parameter '" + name + "'";
        return finish(req, error_response(req, HttpError(http::status::bad_request, "invalid_parameter",
                                                         where + ": " + e.message(), name)));
    } catch (const StorageError& e) {
        // Callers get a fixed text; the detail (which may name tables, paths or hosts) goes
        // to the host's error handler.
        im.report(req, e.what());
        return finish(req, error_response(req, HttpError(http::status::service_unavailable, "storage_unavailable",
                                                         "the observability storage is unavailable; try again")
                                                   .with(http::field::retry_after, "5")));
    } catch (const std::exception& e) {
        im.report(req, e.what());
        return finish(req, error_response(req, HttpError(http::status::internal_server_error, "internal_error",
                                                         "internal error; the server's log has the details")));
    } catch (...) {  // a host middleware threw something exotic: still an answer, never an escape
        im.report(req, "unknown exception");
        return finish(req, error_response(req, HttpError(http::status::internal_server_error, "internal_error",
                                                         "internal error; the server's log has the details")));
    }
}

bool Dashboard::is_event_stream(const Response& response) noexcept {
    return response.result() == http::status::ok &&
           response[http::field::content_type].starts_with("text/event-stream");
}

void Dashboard::serve_event_stream(boost::beast::tcp_stream stream, Response head) {
    impl_->hub.serve(std::move(stream), std::move(head));
}

void Dashboard::close_event_streams() noexcept { impl_->hub.close_all(); }

DashboardStats Dashboard::stats() const noexcept {
    const auto& c = impl_->hub.counters();
    DashboardStats s;
    s.requests = impl_->requests.load();
    s.denied = impl_->denied.load();
    s.event_streams = c.open.load();
    s.streams_refused = c.refused.load();
    s.events_sent = c.sent.load();
    s.events_dropped = c.dropped.load();
    return s;
}

}  // namespace tether::beast
