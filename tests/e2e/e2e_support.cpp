#include "e2e/e2e_support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tether::e2e {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpReply http_request(std::uint16_t port, std::string_view method, std::string_view target, std::string body,
                       const Headers& headers) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::error_code result;
    // Beast's synchronous calls have no deadline; run the async ones to completion instead.
    auto run = [&](auto start) {
        result = {};
        start([&](beast::error_code ec, auto&&...) { result = ec; });
        ioc.restart();
        ioc.run();
        if (result) throw std::runtime_error(std::string(method) + " " + std::string(target) + ": " + result.message());
    };
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    stream.expires_after(std::chrono::seconds(30));
    run([&](auto handler) { stream.async_connect(endpoint, std::move(handler)); });

    http::request<http::string_body> req{http::string_to_verb(method), std::string(target), 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.set(http::field::connection, "close");
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty() || req.method() == http::verb::post) {
        if (req.find(http::field::content_type) == req.end()) req.set(http::field::content_type, "application/json");
        req.body() = std::move(body);
    }
    req.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    run([&](auto handler) { http::async_write(stream, req, std::move(handler)); });

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    stream.expires_after(std::chrono::seconds(30));
    run([&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
    auto res = parser.release();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

    HttpReply out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    return out;
}

json::value get_json(std::uint16_t port, std::string_view target) {
    auto reply = http_request(port, "GET", target);
    if (reply.status != 200)
        throw std::runtime_error("GET " + std::string(target) + " answered " + std::to_string(reply.status) + ": " +
                                 reply.body);
    std::error_code ec;
    auto doc = json::parse(reply.body, ec);
    if (ec) throw std::runtime_error("GET " + std::string(target) + " is not JSON: " + reply.body);
    return doc;
}

std::vector<json::object> get_all(std::uint16_t port, std::string_view target) {
    std::vector<json::object> items;
    const std::string base = std::string(target) + (target.find('?') == std::string_view::npos ? "?" : "&") + "limit=500";
    std::string cursor;
    for (int page = 0; page < 10'000; ++page) {
        const auto doc = get_json(port, cursor.empty() ? base : base + "&cursor=" + cursor);
        for (const auto& item : doc.at("items").as_array()) items.push_back(item.as_object());
        const auto& next = doc.at("next_cursor");
        if (next.is_null()) return items;
        // Opaque: percent-encode whatever is not unreserved, to pass it back unchanged.
        cursor.clear();
        for (unsigned char ch : next.as_string()) {
            if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
                cursor += static_cast<char>(ch);
            } else {
                static constexpr char hex[] = "0123456789ABCDEF";
                cursor += '%';
                cursor += hex[ch >> 4];
                cursor += hex[ch & 15];
            }
        }
    }
    throw std::runtime_error("GET " + std::string(target) + ": more than 10 000 pages");
}

std::uint64_t count_at(const json::value& doc, std::string_view pointer) {
    std::error_code ec;
    const json::value* v = doc.find_pointer(pointer, ec);
    if (!v) throw std::runtime_error("no " + std::string(pointer) + " in " + json::serialize(doc));
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    throw std::runtime_error(std::string(pointer) + " is not a count: " + json::serialize(*v));
}

std::string brief(const json::value& metrics) {
    json::value copy = metrics;
    if (copy.is_object()) copy.as_object().erase("health");
    return json::serialize(copy);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

ExampleServer::ExampleServer(const std::string& dir, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--host",        "127.0.0.1",           "--port", "0", "--data", dir + "/app.db",
                                     "--observer-db", dir + "/observer.db"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Process>(server_binary, std::move(args));
    constexpr std::string_view marker = "listening on http://";
    const bool up = process_->wait_for_stdout(
        [&](const std::string& out) {
            const auto at = out.find(marker);
            return at != std::string::npos && out.find('\n', at) != std::string::npos;
        },
        startup_timeout);
    if (!up) throw std::runtime_error("tether-example-server did not start:\n" + process_->describe());
    const std::string out = process_->out();
    const auto at = out.find(marker);
    const std::string line = out.substr(at, out.find('\n', at) - at);
    const auto colon = line.rfind(':');
    try {
        port_ = static_cast<std::uint16_t>(std::stoul(line.substr(colon + 1)));
    } catch (const std::exception&) {
        throw std::runtime_error("cannot read the port from \"" + line + "\"");
    }
    if (port_ == 0) throw std::runtime_error("the server reported port 0: \"" + line + "\"");
}

json::value ExampleServer::metrics(std::string_view instance) const {
    std::string target = std::string(dashboard_prefix) + "/metrics";
    if (!instance.empty()) target += "?instance=" + std::string(instance);
    return get_json(port_, target);
}

json::value ExampleServer::await_recorded(std::uint64_t at_least, std::string_view instance,
                                          std::chrono::milliseconds timeout) const {
    json::value doc;
    const bool done = eventually(
        [&] {
            doc = metrics(instance);
            // Dropped exchanges count as settled here so that a loss fails the caller's
            // assertions (dropped == 0) at once instead of timing out.
            const auto offered = count_at(doc, "/recorder/offered");
            return count_at(doc, "/recorder/queued") == 0 &&
                   count_at(doc, "/recorder/written") + count_at(doc, "/recorder/dropped") == offered &&
                   offered >= at_least;
        },
        timeout);
    if (!done)
        throw std::runtime_error("the recorder did not write " + std::to_string(at_least) +
                                 " exchanges in time; last recorder state: " + json::serialize(doc.at("recorder")));
    return doc;
}

std::optional<int> ExampleServer::terminate() {
    process_->signal(SIGTERM);
    return process_->wait(exit_timeout);
}

}  // namespace tether::e2e
