#pragma once
// A loopback HTTP host mounting a dashboard the way a real host does (Beast, coroutines):
// requests under the prefix go to the dashboard, event streams are handed over, anything
// else goes to `fallback`. Used by the HTTP tests and bench/http (no test framework here).
#include <boost/asio.hpp>
#include <functional>
#include <thread>
#include <vector>

#include "tether/beast/dashboard.hpp"

namespace tether::test {

class LoopbackHost {
public:
    /// The host's own answer to requests the dashboard does not own (default: 404).
    using Fallback = std::function<beast::Response(const beast::Request&)>;

    struct Options {
        Fallback fallback;
        int send_buffer = 0;  ///< > 0 shrinks the kernel send buffer of accepted sockets (slow readers)
        unsigned threads = 1;
    };

    LoopbackHost(beast::Dashboard& dashboard, Options options);
    explicit LoopbackHost(beast::Dashboard& dashboard) : LoopbackHost(dashboard, Options{}) {}
    ~LoopbackHost();
    LoopbackHost(const LoopbackHost&) = delete;
    LoopbackHost& operator=(const LoopbackHost&) = delete;

    unsigned short port() const { return port_; }

private:
    void accept();
    beast::Dashboard& dashboard_;
    Options options_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::vector<std::thread> threads_;
};

}  // namespace tether::test
