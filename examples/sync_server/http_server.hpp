#pragma once
// Boost.Beast HTTP front end of the example server: an io_context run by a small thread
// pool, keep-alive connections, a 16 MiB body limit (413 JSON error), the Tether sync
// routes, recording of every push and pull, and the tether-pro dashboard mounted under its
// prefix (tether::beast::Dashboard answers what it owns; everything else is ours).
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sync_engine.hpp"
#include "tether/beast/dashboard.hpp"
#include "tether/recorder.hpp"

namespace example {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

struct HttpOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  ///< 0 = let the OS pick a free port
    unsigned threads = 4;
    std::size_t body_limit = 16u << 20;
    /// Request line and headers; above the dashboard's 8 KiB target limit, so that a long
    /// dashboard URL gets the dashboard's own 414 rather than this server's 431.
    std::size_t header_limit = 16u << 10;
    /// Longest wait for one complete request (an idle keep-alive connection or a client
    /// sending slowly) and for one response to be written; then the connection is closed.
    std::chrono::seconds idle_timeout{60};
    std::chrono::seconds shutdown_grace{5};  ///< in-flight requests get this long to finish
};

class HttpServer {
public:
    /// `engine` and `recorder` (null = do not record) must outlive the server.
    HttpServer(HttpOptions options, SyncEngine& engine, tether::Recorder* recorder);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Serve `dashboard` (which must outlive the server) for the requests under its prefix.
    /// Install before start().
    void mount(tether::beast::Dashboard& dashboard);

    /// Binds and listens; returns the real port. Throws std::system_error on failure.
    std::uint16_t start();

    /// Serves until SIGINT/SIGTERM or stop(): stops accepting, lets in-flight requests
    /// finish (up to shutdown_grace), closes idle connections, then returns.
    void run();

    /// Begin the shutdown described above. Callable from any thread.
    void stop();

private:
    friend class Session;  // one connection, defined in http_server.cpp
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace example
