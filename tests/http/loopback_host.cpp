#include "loopback_host.hpp"

#include <boost/beast.hpp>

namespace tether::test {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

beast::Response not_found(const beast::Request& req) {
    beast::Response res{http::status::not_found, req.version()};
    res.body() = "host 404";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return res;
}

net::awaitable<void> session(boost::beast::tcp_stream stream, beast::Dashboard& dashboard,
                             const LoopbackHost::Fallback& fallback) {
    boost::beast::flat_buffer buffer;
    try {
        for (;;) {
            beast::Request req;
            co_await http::async_read(stream, buffer, req, net::use_awaitable);
            auto res = dashboard.handle(req, stream.socket().remote_endpoint().address());
            if (!res)
                res = fallback ? fallback(req) : not_found(req);
            else if (beast::Dashboard::is_event_stream(*res))
                co_return dashboard.serve_event_stream(std::move(stream), std::move(*res));
            co_await http::async_write(stream, *res, net::use_awaitable);
            if (!res->keep_alive()) co_return;
        }
    } catch (const boost::system::system_error&) {  // the client left
    }
}

}  // namespace

LoopbackHost::LoopbackHost(beast::Dashboard& dashboard, Options options)
    : dashboard_(dashboard), options_(std::move(options)), acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    for (unsigned i = 0; i < std::max(1u, options_.threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
}

void LoopbackHost::accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (ec) return;
        if (options_.send_buffer > 0) socket.set_option(net::socket_base::send_buffer_size(options_.send_buffer));
        net::co_spawn(ioc_, session(boost::beast::tcp_stream(std::move(socket)), dashboard_, options_.fallback),
                      net::detached);
        accept();
    });
}

LoopbackHost::~LoopbackHost() {
    ioc_.stop();
    for (auto& t : threads_) t.join();
}

}  // namespace tether::test
