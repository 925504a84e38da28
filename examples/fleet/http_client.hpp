#pragma once
// A blocking HTTP/1.1 client over one keep-alive connection (one per fleet worker).
// Each call runs Beast's async operations to completion on a private io_context: the
// caller sees a plain synchronous call, but every step has a deadline, which Beast's
// synchronous API cannot give (a hung server would otherwise hang the fleet forever).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fleet {

struct Url {
    std::string host;
    std::string port;
    std::string base;  ///< path prefix without trailing slash, e.g. "" or "/api"

    /// "http://HOST[:PORT][/PREFIX]". Returns nullopt with `error` set otherwise.
    static std::optional<Url> parse(std::string_view text, std::string& error);
    std::string to_string() const;
};

struct HttpResult {
    int status = 0;
    std::string body;
    double latency_ms = 0;
};

/// The request could not be completed (reset, timeout, malformed response).
class TransportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// No connection could be established at all: the server is down or the URL is wrong.
class Unreachable : public TransportError {
public:
    using TransportError::TransportError;
};

class HttpClient {
public:
    using Headers = std::vector<std::pair<std::string, std::string>>;

    HttpClient(Url url, std::chrono::seconds timeout);

    /// POST `body` to base + path. A request that fails on a reused keep-alive connection
    /// (the server may have closed it while idle) is retried once on a fresh connection.
    HttpResult post(std::string_view path, const std::string& body, const Headers& headers);

    /// Connect now (used as the reachability probe). Throws Unreachable.
    void connect();

private:
    template <class Start>
    void run(Start&& start);
    void close() noexcept;

    Url url_;
    std::chrono::seconds timeout_;
    boost::asio::io_context ioc_;
    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    boost::asio::ip::tcp::resolver::results_type endpoints_;
    bool connected_ = false;
};

}  // namespace fleet
