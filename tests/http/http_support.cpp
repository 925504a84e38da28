#include "http_support.hpp"

#include <catch2/catch.hpp>

namespace tether::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;

beast::Response call(beast::Dashboard& dashboard, const Call& c) {
    beast::Request req{c.method, c.target, 11};
    req.set(http::field::host, "127.0.0.1:8080");
    for (const auto& [name, value] : c.headers) req.set(name, value);
    req.body() = c.body;
    req.prepare_payload();
    auto res = dashboard.handle(req, net::ip::make_address(c.remote));
    REQUIRE(res.has_value());
    return std::move(*res);
}

beast::Response get(beast::Dashboard& dashboard, const std::string& target) { return call(dashboard, {.target = target}); }

boost::json::value json_of(const beast::Response& res) {
    INFO(res.body());
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body(), ec);
    REQUIRE_FALSE(ec);
    return v;
}

Client::Client(unsigned short port, int receive_buffer) : socket_(ioc_) {
    socket_.open(tcp::v4());
    if (receive_buffer > 0) socket_.set_option(net::socket_base::receive_buffer_size(receive_buffer));
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
}

http::response<http::string_body> Client::get(const std::string& target, bool head_only) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket_, req);
    http::response_parser<http::string_body> parser;
    if (head_only) {
        http::read_header(socket_, buffer_, parser);
        // Whatever followed the head in the same read belongs to the stream.
        received_.assign(static_cast<const char*>(buffer_.data().data()), buffer_.size());
        buffer_.consume(buffer_.size());
    } else {
        http::read(socket_, buffer_, parser);
    }
    return parser.release();
}

std::optional<boost::system::error_code> Client::read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return std::nullopt;
    char chunk[4096];
    boost::system::error_code ec;
    std::size_t n = 0;
    socket_.async_read_some(net::buffer(chunk), [&](boost::system::error_code e, std::size_t k) {
        ec = e;
        n = k;
    });
    ioc_.restart();
    ioc_.run_for(left);
    if (!ioc_.stopped()) {  // timed out: cancel the read and let it finish
        socket_.cancel();
        ioc_.restart();
        ioc_.run();
        return std::nullopt;
    }
    received_.append(chunk, n);
    return ec;
}

bool Client::read_until(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
        auto ec = read_some(deadline);
        if (!ec || *ec) return false;
    }
    return true;
}

bool Client::closed_by_server(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto ec = read_some(deadline);
        if (!ec) return false;
        if (*ec) return *ec == net::error::eof || *ec == net::error::connection_reset;
    }
}

}  // namespace tether::test
