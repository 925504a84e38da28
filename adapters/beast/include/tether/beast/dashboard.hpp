#pragma once
// The dashboard, mounted inside the host's own Boost.Beast server. It opens no port: the
// host offers each request it reads, the dashboard answers those under its prefix and
// says "not mine" (nullopt) for everything else.
//
//     tether::beast::Dashboard dashboard(*observer);          // prefix /tether/dashboard
//     ...
//     // in the host's session, after reading `req` from `stream`:
//     if (auto res = dashboard.handle(req, stream.socket().remote_endpoint().address())) {
//         if (tether::beast::Dashboard::is_event_stream(*res))
//             return dashboard.serve_event_stream(std::move(stream), std::move(*res));
//         http::write(stream, *res);  // or async_write; honour res->keep_alive()
//     } else {
//         ... the host's own routes ...
//     }
//
// Routes, JSON shapes and errors: docs/http-api.md. Every handler is synchronous and
// thread-safe; call handle() from any number of I/O threads.
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/beast/auth.hpp"

namespace tether {
class Observer;
}

namespace tether::beast {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct DashboardOptions {
    /// Where the dashboard lives: "" (root) or "/segment[/segment…]" without a trailing slash.
    std::string prefix = "/tether/dashboard";
    /// Evaluated in order for every request; empty = loopback clients only. See auth.hpp.
    std::vector<Middleware> middleware;
    /// Largest request body accepted (the replay POST is the only one with a body).
    std::size_t body_limit = 64 * 1024;
    /// Largest request target (path + query) accepted; longer ones get 414.
    std::size_t target_limit = 8 * 1024;
    /// Live-update connections open at once; more are refused with 503 (the UI polls).
    std::size_t max_event_streams = 32;
    /// Unsent bytes kept per live connection; a slower reader loses events (counted, and
    /// told so by a `dropped` event) instead of growing memory.
    std::size_t event_buffer_bytes = 256 * 1024;
    /// Metrics documents are reused until a batch is written or this much time passes.
    std::chrono::milliseconds metrics_cache_ttl{1000};
    /// How often a `metrics` event (24 h window, all instances) is pushed to live clients.
    std::chrono::milliseconds metrics_interval{5000};
    /// Comment line sent when nothing else was, so proxies keep the stream open.
    std::chrono::milliseconds heartbeat_interval{15000};
    /// Origins (scheme://host[:port]) allowed to POST besides the dashboard's own.
    std::vector<std::string> allowed_origins;
    /// Mark the sign-in cookie `Secure`: set it when browsers reach the dashboard over HTTPS
    /// (directly or through a TLS-terminating proxy), so the token never travels in clear.
    bool secure_cookie = false;
};

/// Counters of the HTTP side, for the host's own monitoring.
struct DashboardStats {
    std::uint64_t requests = 0;         ///< answered by handle()
    std::uint64_t denied = 0;           ///< 401/403 from the middleware chain
    std::uint64_t event_streams = 0;    ///< live connections open now
    std::uint64_t streams_refused = 0;  ///< over max_event_streams
    std::uint64_t events_sent = 0;
    std::uint64_t events_dropped = 0;   ///< lost to a full per-connection buffer
};

class Dashboard {
public:
    /// `observer` must outlive the dashboard. Throws std::invalid_argument for a malformed
    /// prefix.
    explicit Dashboard(Observer& observer, DashboardOptions options = {});
    /// Closes every live connection (see close_event_streams()).
    ~Dashboard();
    Dashboard(const Dashboard&) = delete;
    Dashboard& operator=(const Dashboard&) = delete;

    const std::string& prefix() const noexcept;

    /// True when `target` is the prefix or lies under it (query string ignored).
    bool owns(std::string_view target) const noexcept;

    /// Answer one request: nullopt when it is not under the prefix. Never throws; internal
    /// errors become a JSON 500 (storage errors a 503) with a fixed message, their detail
    /// going to the Observer's ErrorHandler (source `dashboard`). The response is complete (Content-Length set, keep-alive
    /// as requested) except for an event stream's head, which only serve_event_stream()
    /// may write.
    std::optional<Response> handle(const Request& request, const boost::asio::ip::address& remote);

    /// True for the head handle() returns for GET {prefix}/api/events.
    static bool is_event_stream(const Response& response) noexcept;

    /// Take over the connection for an event stream: writes `head`, then events until the
    /// client leaves, the dashboard closes, or the stream is refused. Returns at once; the
    /// work runs on the stream's executor. Beyond max_event_streams the head has already
    /// been turned into a 503 by handle().
    void serve_event_stream(boost::beast::tcp_stream stream, Response head);

    /// Close every live connection now (hosts call this when they shut down, so that their
    /// io_context runs out of work). New event streams are still accepted afterwards.
    void close_event_streams() noexcept;

    DashboardStats stats() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tether::beast
