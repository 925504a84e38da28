#include "http_server.hpp"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace example {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr const char* server_name = "tether-example-server";

// Request headers copied into the captured exchange. Authorization and Cookie are
// included on purpose: the recorder redacts them before anything is stored, and the
// dashboard shows that a credential was sent.
constexpr const char* recorded_headers[] = {"X-Tether-Client-Version", "User-Agent", "Content-Type", "Content-Length",
                                            "Authorization",           "Cookie",     "X-Request-Id", "X-Forwarded-For"};

HttpResponse json_response(http::status status, std::string body, unsigned version, bool keep_alive) {
    HttpResponse res{status, version};
    res.set(http::field::server, server_name);
    res.set(http::field::content_type, "application/json");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

std::optional<tether::ExchangeKind> sync_route(std::string_view path) {
    if (path == "/sync/push") return tether::ExchangeKind::push;
    if (path == "/sync/pull") return tether::ExchangeKind::pull;
    return std::nullopt;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

class Session;

struct HttpServer::Impl {
    HttpOptions options;
    SyncEngine& engine;
    tether::Recorder* recorder;
    tether::beast::Dashboard* dashboard = nullptr;
    tether::SystemClock clock;

    // Declared before the io_context: sessions destroyed with it still unregister here.
    std::mutex sessions_mutex;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
    std::atomic<bool> stopping{false};
    std::atomic<bool> destroying{false};

    net::io_context ioc;
    // Acceptor, signals and timers live on one strand so that shutdown, which touches
    // all of them, never races with an accept completing on another pool thread.
    net::strand<net::io_context::executor_type> ctl;
    tcp::acceptor acceptor;
    net::signal_set signals;
    net::steady_timer deadline;
    net::steady_timer accept_retry;

    Impl(HttpOptions o, SyncEngine& e, tether::Recorder* r)
        : options(std::move(o)),
          engine(e),
          recorder(r),
          ioc(static_cast<int>(options.threads)),
          ctl(net::make_strand(ioc)),
          acceptor(ctl),
          signals(ctl),
          deadline(ctl),
          accept_retry(ctl) {}
    ~Impl() { destroying = true; }

    void do_accept();
    void begin_shutdown();
    void session_closed(Session* s);
    HttpResponse handle(HttpRequest& req);
    HttpResponse handle_sync(HttpRequest& req, tether::ExchangeKind kind);
    HttpResponse too_large(const HttpRequest& header);
    void record(tether::ExchangeKind kind, const HttpRequest& req, std::string request_body, int status,
                std::string response_body, std::vector<tether::MutationTrace> traces, tether::Micros started_at,
                tether::Micros duration) noexcept;
};

// One keep-alive connection. All handlers run on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, HttpServer::Impl& server) : stream_(std::move(socket)), server_(server) {}
    ~Session() { server_.session_closed(this); }

    void start() {
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
    }

    /// Shutdown: an idle connection (waiting for the next request) is closed now; a busy one
    /// closes after its response is written (do_read/on_write check `stopping`).
    void request_stop() {
        net::post(stream_.get_executor(), [self = shared_from_this()] {
            if (self->reading_) self->stream_.cancel();
        });
    }

private:
    void do_read() {
        if (server_.stopping) return do_close();
        parser_.emplace();
        parser_->body_limit(server_.options.body_limit);
        parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
        stream_.expires_after(server_.options.idle_timeout);
        reading_ = true;
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        reading_ = false;
        if (ec == http::error::body_limit) {
            // The rest of the body is never read, so the connection cannot be reused.
            drain_ = true;
            return write(server_.too_large(parser_->get()), true);
        }
        if (ec == http::error::header_limit) {
            return write(json_response(http::status::request_header_fields_too_large,
                                       error_body("header_fields_too_large",
                                                  "the request line and headers exceed " +
                                                      std::to_string(server_.options.header_limit) + " bytes"),
                                       11, false),
                         true);
        }
        if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message) {
            return write(
                json_response(http::status::bad_request,
                              error_body("bad_http_request", "the HTTP request could not be parsed: " + ec.message()),
                              11, false),
                true);
        }
        if (ec) return do_close();  // end of stream, timeout, cancelled by shutdown, reset…
        HttpRequest req = parser_->release();
        // The dashboard answers what lies under its prefix, including the live-update
        // stream, which takes this connection over for good.
        if (server_.dashboard && server_.dashboard->owns(req.target())) {
            beast::error_code ignored;
            const auto remote = stream_.socket().remote_endpoint(ignored).address();
            auto res = server_.dashboard->handle(req, remote);
            if (tether::beast::Dashboard::is_event_stream(*res))
                return server_.dashboard->serve_event_stream(std::move(stream_), std::move(*res));
            res->set(http::field::server, server_name);
            return write(std::move(*res), !res->keep_alive() || server_.stopping);
        }
        HttpResponse res;
        try {
            res = server_.handle(req);
        } catch (const std::exception& e) {
            res = json_response(http::status::internal_server_error, error_body("internal_error", e.what()),
                                req.version(), false);
        }
        // Once shutting down, tell the client this connection ends with the response.
        const bool close = !res.keep_alive() || server_.stopping;
        write(std::move(res), close);
    }

    void write(HttpResponse&& res, bool close) {
        res_ = std::move(res);
        if (close) res_.keep_alive(false);
        stream_.expires_after(server_.options.idle_timeout);
        http::async_write(stream_, res_, beast::bind_front_handler(&Session::on_write, shared_from_this(), close));
    }

    void on_write(bool close, beast::error_code ec, std::size_t) {
        if (ec || close || server_.stopping) return do_close();
        res_ = {};
        do_read();
    }

    void do_close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (drain_ && !ec) {
            // Closing with unread request bytes makes the kernel send RST, which can destroy
            // the 413 before the client reads it; read and discard for a moment instead.
            stream_.expires_after(std::chrono::seconds(2));
            stream_.async_read_some(net::buffer(scratch_),
                                    beast::bind_front_handler(&Session::on_drain, shared_from_this()));
        }
    }

    void on_drain(beast::error_code ec, std::size_t) {
        if (ec) return;
        stream_.async_read_some(net::buffer(scratch_),
                                beast::bind_front_handler(&Session::on_drain, shared_from_this()));
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    HttpResponse res_;
    HttpServer::Impl& server_;
    bool reading_ = false;
    bool drain_ = false;
    char scratch_[8192];
};

void HttpServer::Impl::do_accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (stopping || ec == net::error::operation_aborted) return;
        if (ec) {
            // E.g. out of file descriptors: retry shortly instead of spinning.
            std::fprintf(stderr, "tether-example-server: accept failed: %s\n", ec.message().c_str());
            accept_retry.expires_after(std::chrono::milliseconds(100));
            accept_retry.async_wait([this](beast::error_code e) {
                if (!e && !stopping) do_accept();
            });
            return;
        }
        auto session = std::make_shared<Session>(std::move(socket), *this);
        {
            std::lock_guard lock(sessions_mutex);
            sessions.emplace(session.get(), session);
        }
        session->start();
        do_accept();
    });
}

void HttpServer::Impl::begin_shutdown() {
    if (stopping.exchange(true)) return;
    beast::error_code ec;
    acceptor.close(ec);
    accept_retry.cancel();
    signals.cancel();
    // Back to the default disposition: a second Ctrl-C kills the process outright.
    signals.clear(ec);
    std::vector<std::shared_ptr<Session>> live;
    {
        std::lock_guard lock(sessions_mutex);
        for (auto& [ptr, weak] : sessions)
            if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->request_stop();
    // Live-update streams left the session list when the dashboard took them over.
    if (dashboard) dashboard->close_event_streams();
    if (live.empty()) return;  // nothing left holds the io_context: run() returns
    deadline.expires_after(options.shutdown_grace);
    deadline.async_wait([this](beast::error_code e) {
        if (e) return;  // cancelled: the last connection closed in time
        std::fprintf(stderr, "tether-example-server: requests still running after %llds; stopping anyway\n",
                     static_cast<long long>(options.shutdown_grace.count()));
        ioc.stop();
    });
}

void HttpServer::Impl::session_closed(Session* s) {
    bool last = false;
    {
        std::lock_guard lock(sessions_mutex);
        sessions.erase(s);
        last = sessions.empty();
    }
    if (last && stopping && !destroying) net::post(ctl, [this] { deadline.cancel(); });
}

HttpResponse HttpServer::Impl::handle(HttpRequest& req) {
    const std::string_view path = path_of(req.target());
    if (auto kind = sync_route(path)) {
        if (req.method() != http::verb::post) {
            auto res = json_response(
                http::status::method_not_allowed,
                error_body("method_not_allowed", std::string(req.method_string()) + " " + std::string(path) +
                                                     " is not supported; expected POST with a JSON body"),
                req.version(), req.keep_alive());
            res.set(http::field::allow, "POST");
            return res;
        }
        return handle_sync(req, *kind);
    }
    if (path == "/healthz" && (req.method() == http::verb::get || req.method() == http::verb::head))
        return json_response(http::status::ok, R"({"status":"ok"})", req.version(), req.keep_alive());

    return json_response(
        http::status::not_found,
        error_body("not_found", "no route for " + std::string(req.method_string()) + " " + std::string(path) +
                                    "; the sync routes are POST /sync/push and POST /sync/pull"),
        req.version(), req.keep_alive());
}

HttpResponse HttpServer::Impl::handle_sync(HttpRequest& req, tether::ExchangeKind kind) {
    const tether::Micros started_at = clock.now_us();
    const tether::Micros t0 = clock.steady_us();
    SyncResult result = kind == tether::ExchangeKind::push ? engine.push(req.body()) : engine.pull(req.body());
    HttpResponse res =
        json_response(static_cast<http::status>(result.status), result.body, req.version(), req.keep_alive());
    if (recorder)
        record(kind, req, std::move(req.body()), result.status, std::move(result.body), std::move(result.traces),
               started_at, clock.steady_us() - t0);
    return res;
}

HttpResponse HttpServer::Impl::too_large(const HttpRequest& header) {
    const tether::Micros started_at = clock.now_us();
    auto res =
        json_response(http::status::payload_too_large,
                      error_body("payload_too_large", "request body exceeds " + std::to_string(options.body_limit) +
                                                          " bytes; split the push into smaller batches"),
                      header.version(), false);
    // A sync request refused for its size is still worth seeing on the dashboard (without
    // its body, which was never read).
    if (auto kind = sync_route(path_of(header.target())); kind && recorder)
        record(*kind, header, std::string(), 413, res.body(), {}, started_at, 0);
    return res;
}

void HttpServer::Impl::record(tether::ExchangeKind kind, const HttpRequest& req, std::string request_body, int status,
                              std::string response_body, std::vector<tether::MutationTrace> traces,
                              tether::Micros started_at, tether::Micros duration) noexcept {
    // Recording must never fail the request: an allocation failure here loses the capture,
    // not the response.
    try {
        tether::Exchange ex;
        ex.kind = kind;
        ex.client_version = std::string(req["X-Tether-Client-Version"]);
        ex.started_at_us = started_at;
        ex.duration_us = duration;
        ex.http_status = status;
        ex.request_body = std::move(request_body);
        ex.response_body = std::move(response_body);
        for (const char* name : recorded_headers)
            if (auto it = req.find(name); it != req.end()) ex.headers.push_back({name, std::string(it->value())});
        ex.traces = std::move(traces);
        recorder->record(std::move(ex));
    } catch (...) {
    }
}

HttpServer::HttpServer(HttpOptions options, SyncEngine& engine, tether::Recorder* recorder)
    : impl_(std::make_unique<Impl>(std::move(options), engine, recorder)) {}

HttpServer::~HttpServer() = default;

void HttpServer::mount(tether::beast::Dashboard& dashboard) { impl_->dashboard = &dashboard; }

std::uint16_t HttpServer::start() {
    auto& im = *impl_;
    tcp::resolver resolver(im.ioc);
    // Numeric hosts resolve without DNS; names such as "localhost" take the first address.
    const auto results = resolver.resolve(im.options.host, std::to_string(im.options.port),
                                          tcp::resolver::passive | tcp::resolver::address_configured);
    const tcp::endpoint endpoint = results.begin()->endpoint();
    im.acceptor.open(endpoint.protocol());
    im.acceptor.set_option(net::socket_base::reuse_address(true));
    im.acceptor.bind(endpoint);
    im.acceptor.listen(net::socket_base::max_listen_connections);
    return im.acceptor.local_endpoint().port();
}

void HttpServer::run() {
    auto& im = *impl_;
    im.signals.add(SIGINT);
    im.signals.add(SIGTERM);
    im.signals.async_wait([&im](beast::error_code ec, int) {
        if (!ec) im.begin_shutdown();
    });
    net::post(im.ctl, [&im] { im.do_accept(); });

    // A handler that throws must not take a pool thread (or the process) down with it.
    auto worker = [&im] {
        for (;;) {
            try {
                im.ioc.run();
                return;
            } catch (const std::exception& e) {
                std::fprintf(stderr, "tether-example-server: unexpected error in a handler: %s\n", e.what());
            } catch (...) {
                std::fprintf(stderr, "tether-example-server: unexpected error in a handler\n");
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < std::max(1u, im.options.threads); ++i) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
}

void HttpServer::stop() {
    auto& im = *impl_;
    net::post(im.ctl, [&im] { im.begin_shutdown(); });
}

}  // namespace example
