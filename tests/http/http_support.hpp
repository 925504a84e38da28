#pragma once
// Driving the dashboard in tests: direct calls to Dashboard::handle() for routing, auth and
// JSON (deterministic, no sockets), and a real loopback host for what needs a connection
// (event streams): a small Beast server run by its own thread, plus a blocking client.
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "loopback_host.hpp"
#include "tether/beast/dashboard.hpp"

namespace tether::test {

namespace http = boost::beast::http;

struct Call {
    http::verb method = http::verb::get;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string remote = "127.0.0.1";
};

/// handle() for one request; the response must exist (the target is under the prefix).
beast::Response call(beast::Dashboard& dashboard, const Call& c);
beast::Response get(beast::Dashboard& dashboard, const std::string& target);
/// The body parsed as JSON (fails the test when it is not).
boost::json::value json_of(const beast::Response& res);

/// A blocking client connection to 127.0.0.1:port.
class Client {
public:
    explicit Client(unsigned short port, int receive_buffer = 0);
    /// Sends a GET and reads the response head (and the body unless `head_only`).
    http::response<http::string_body> get(const std::string& target, bool head_only = false);
    /// Reads raw bytes until `needle` appears in everything read so far, or the timeout.
    bool read_until(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// True when the server closed the connection within the timeout.
    bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    const std::string& received() const { return received_; }

private:
    /// One read into received_: nullopt on timeout, else the read's error code.
    std::optional<boost::system::error_code> read_some(std::chrono::steady_clock::time_point deadline);

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    std::string received_;
};

}  // namespace tether::test
