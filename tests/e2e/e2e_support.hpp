#pragma once
// End-to-end helpers: tether-example-server as a child process (free port, temp databases),
// a blocking HTTP client with deadlines, and the dashboard's JSON API read in full.
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "e2e/process.hpp"

namespace tether::e2e {

namespace json = boost::json;

#ifndef TETHER_EXAMPLE_SERVER
#error "TETHER_EXAMPLE_SERVER (path of tether-example-server) must be defined by the build"
#endif
#ifndef TETHER_FLEET
#error "TETHER_FLEET (path of tether-fleet) must be defined by the build"
#endif
inline constexpr const char* server_binary = TETHER_EXAMPLE_SERVER;
inline constexpr const char* fleet_binary = TETHER_FLEET;
inline constexpr const char* dashboard_prefix = "/tether/dashboard";

/// Generous: the machine may be loaded (2 shared cores, parallel ctest).
inline constexpr std::chrono::seconds startup_timeout{30};
inline constexpr std::chrono::seconds exit_timeout{30};

struct HttpReply {
    int status = 0;
    std::string content_type;
    std::string body;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

/// One request on a fresh connection to 127.0.0.1:port. Throws on transport errors or when
/// no answer came within 30 s.
HttpReply http_request(std::uint16_t port, std::string_view method, std::string_view target,
                       std::string body = {}, const Headers& headers = {});

/// GET `target`; the answer must be 200 with a JSON body (throws with the body otherwise).
json::value get_json(std::uint16_t port, std::string_view target);

/// Every item of a paginated list (`{items, next_cursor}`), following next_cursor with limit=500.
/// `target` may already carry a query string.
std::vector<json::object> get_all(std::uint16_t port, std::string_view target);

/// The number at `pointer` (RFC 6901) as an unsigned integer; throws if absent or not a count.
std::uint64_t count_at(const json::value& doc, std::string_view pointer);

/// A metrics document without its 288 health cells, for failure messages.
std::string brief(const json::value& metrics);

/// Reads a whole file (throws if it cannot be opened).
std::string read_file(const std::string& path);

/// Polls `pred` every 20 ms until it holds or the timeout passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

/// tether-example-server on 127.0.0.1 and a free port, its databases in `dir`.
class ExampleServer {
public:
    /// Starts the server and waits for "listening on http://HOST:PORT". `extra` flags are
    /// appended. Throws (with the server's output) when it does not come up.
    ExampleServer(const std::string& dir, std::vector<std::string> extra = {});

    std::uint16_t port() const noexcept { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    Process& process() noexcept { return *process_; }

    /// The dashboard's metrics document (24 h window), optionally for one instance.
    json::value metrics(std::string_view instance = {}) const;

    /// Waits until the recorder has settled everything it was offered and at least
    /// `at_least` exchanges were offered: recorder.queued == 0 and written + dropped ==
    /// offered (callers then check dropped == 0, i.e. written == offered).
    /// Returns the metrics document that showed it (throws at the timeout).
    json::value await_recorded(std::uint64_t at_least, std::string_view instance = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

    /// SIGTERM, then the exit status (nullopt: still running after exit_timeout).
    std::optional<int> terminate();

private:
    std::unique_ptr<Process> process_;
    std::uint16_t port_ = 0;
};

}  // namespace tether::e2e
