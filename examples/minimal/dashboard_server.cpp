// The dashboard mounted in a small Boost.Beast server (C++20 coroutines): the host reads
// each request, offers it to the dashboard, and answers the rest itself.
//
//   tether-minimal-dashboard [DB_FILE] [PORT]   (defaults tether-demo.db, 8081; run tether-minimal first)
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdio>
#include <string>

#include "tether/beast/dashboard.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

net::awaitable<void> session(boost::beast::tcp_stream stream, tether::beast::Dashboard& dashboard) {
    boost::beast::flat_buffer buffer;
    try {
        for (;;) {
            http::request<http::string_body> req;
            stream.expires_after(std::chrono::seconds(30));
            co_await http::async_read(stream, buffer, req, net::use_awaitable);
            auto res = dashboard.handle(req, stream.socket().remote_endpoint().address());
            if (!res) {  // not under the prefix: the host's own routes would go here
                res.emplace(http::status::not_found, req.version());
                res->set(http::field::content_type, "text/plain");
                res->body() = "not found; the dashboard is at " + dashboard.prefix() + "/\n";
                res->keep_alive(req.keep_alive());
                res->prepare_payload();
            } else if (tether::beast::Dashboard::is_event_stream(*res)) {
                co_return dashboard.serve_event_stream(std::move(stream), std::move(*res));
            }
            co_await http::async_write(stream, *res, net::use_awaitable);
            if (!res->keep_alive()) break;
        }
    } catch (const boost::system::system_error&) {  // the client went away or timed out
    }
}

net::awaitable<void> listen(tcp::acceptor& acceptor, tether::beast::Dashboard& dashboard) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
        if (ec) co_return;  // closed by the signal handler
        net::co_spawn(acceptor.get_executor(), session(boost::beast::tcp_stream(std::move(socket)), dashboard),
                      net::detached);
    }
}

int main(int argc, char** argv) {
    const std::string path = argc > 1 ? argv[1] : "tether-demo.db";
    const auto port = static_cast<unsigned short>(argc > 2 ? std::stoi(argv[2]) : 8081);
    auto observer = tether::Observer::builder().storage(tether::open_sqlite_storage({path})).build();
    tether::beast::Dashboard dashboard(*observer);  // default: loopback clients only

    net::io_context ioc;
    tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), port});
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { ioc.stop(); });  // open connections are dropped with ioc
    net::co_spawn(ioc, listen(acceptor, dashboard), net::detached);
    std::printf("Dashboard: http://127.0.0.1:%u%s/  (Ctrl-C to stop)\n", port, dashboard.prefix().c_str());
    std::fflush(stdout);
    ioc.run();
}
