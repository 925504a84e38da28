#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

namespace fleet {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::optional<Url> Url::parse(std::string_view text, std::string& error) {
    constexpr std::string_view scheme = "http://";
    if (text.rfind(scheme, 0) != 0) {
        error = "the URL must start with http:// (https is not supported)";
        return std::nullopt;
    }
    std::string_view rest = text.substr(scheme.size());
    Url u;
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) u.base = std::string(rest.substr(slash));
    while (!u.base.empty() && u.base.back() == '/') u.base.pop_back();
    std::string_view host = authority, port = "80";
    if (!authority.empty() && authority.front() == '[') {  // [::1]:8080
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            error = "unterminated IPv6 address in the URL";
            return std::nullopt;
        }
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                error = "expected :PORT after the IPv6 address";
                return std::nullopt;
            }
            port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (host.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) {
        error = "expected http://HOST:PORT with a port from 1 to 65535";
        return std::nullopt;
    }
    u.host = std::string(host);
    u.port = std::string(port);
    return u;
}

std::string Url::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + host + "]" : host) + ":" + port + base;
}

HttpClient::HttpClient(Url url, std::chrono::seconds timeout)
    : url_(std::move(url)), timeout_(timeout), stream_(ioc_) {}

// Start an async operation whose handler takes (error_code, size_t-or-endpoint) and run the
// private io_context until it completes; errors (including the deadline) are thrown.
template <class Start>
void HttpClient::run(Start&& start) {
    beast::error_code result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    // ec.message() rather than system_error::what(), which appends Boost's source location.
    if (result) throw std::runtime_error(result.message());
}

void HttpClient::close() noexcept {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    buffer_.clear();
    connected_ = false;
}

void HttpClient::connect() {
    close();
    try {
        if (endpoints_.empty()) {
            tcp::resolver resolver(ioc_);
            endpoints_ = resolver.resolve(url_.host, url_.port);
        }
        stream_.expires_after(timeout_);
        run([&](auto handler) { stream_.async_connect(endpoints_, std::move(handler)); });
        stream_.socket().set_option(tcp::no_delay(true));
        connected_ = true;
    } catch (const boost::system::system_error& e) {  // from resolve()
        close();
        throw Unreachable("cannot resolve " + url_.host + ": " + e.code().message());
    } catch (const std::exception& e) {
        close();
        throw Unreachable("cannot connect to " + url_.to_string() + ": " + e.what());
    }
}

HttpResult HttpClient::post(std::string_view path, const std::string& body, const Headers& headers) {
    http::request<http::string_body> req{http::verb::post, url_.base + std::string(path), 11};
    req.set(http::field::host, url_.host + ":" + url_.port);
    req.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();

    for (int attempt = 0;; ++attempt) {
        const bool reused = connected_;
        if (!connected_) connect();
        const auto t0 = std::chrono::steady_clock::now();
        try {
            stream_.expires_after(timeout_);
            run([&](auto handler) { http::async_write(stream_, req, std::move(handler)); });
            http::response_parser<http::string_body> parser;
            parser.body_limit(64u << 20);
            stream_.expires_after(timeout_);
            run([&](auto handler) { http::async_read(stream_, buffer_, parser, std::move(handler)); });
            auto res = parser.release();
            HttpResult out;
            out.status = static_cast<int>(res.result_int());
            out.body = std::move(res.body());
            out.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (!res.keep_alive()) close();
            return out;
        } catch (const std::exception& e) {
            close();
            if (!reused || attempt > 0) throw TransportError(std::string(path) + ": " + e.what());
        }
    }
}

}  // namespace fleet
