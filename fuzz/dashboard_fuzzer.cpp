// Whole requests through tether::beast::Dashboard::handle(), over an Observer whose memory
// storage holds a few captured pushes and pulls (conflicts, rejections, redactions).
//
// Input: target RS method RS headers RS body [GS option bytes]
//   target: not starting with '/' means "/tether/dashboard/" + target; "@0".."@9" are replaced
//           by ids that exist (requests, mutation rows, clients, failure fingerprints)
//   method: a method name (GET when empty); headers: "Name: value" lines
//   options: [0] remote address (loopback v4, loopback v6, another host)
//
// Properties: handle() never throws; it answers exactly the targets under the prefix; every
// answer has a status in 100..599 and never 500 (internal errors are reported to the
// ErrorHandler, which fails the run); Content-Length matches the body; HEAD answers carry no
// body; JSON answers parse, and errors have the {error, message} shape; no answer contains
// a secret planted in the captured data or in the host's current state (StateReader).
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <stdexcept>

#include "fuzz_common.hpp"
#include "tether/beast/dashboard.hpp"
#include "tether/observer.hpp"

using namespace tether;
namespace tf = tether::fuzz;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr Micros t0 = 1'732'500'000'000'000;

class FailOnInternalError final : public ErrorHandler {
public:
    void on_error(const ErrorEvent& e) noexcept override {
        if (e.source == ErrorSource::dashboard) tf::fail("the dashboard reported an internal error", e.message);
    }
};

class States final : public StateReader {
public:
    std::optional<EntityState> current(std::string_view model, std::string_view entity_id) override {
        if (model == "Task" && entity_id.size() > 2 && entity_id.back() != '2')
            return EntityState{R"({"title":"Server","done":true,"password":"FZS3CR3T-state"})", t0 + 5'000'000};
        return std::nullopt;
    }
    bool was_applied(std::string_view mutation_id) override { return !mutation_id.empty() && mutation_id.back() == '1'; }
};

class Target final : public ReplayTarget {
public:
    ReplayResponse push(const ReplayPush&) override { return {200, R"({"applied":[],"rejected":[],"conflicts":[]})", {}}; }
};

std::string ulid(char tag, int n) { return std::string("01JD3Z6Q8Y") + tag + std::string(14, '0') + char('0' + n); }

std::string mutation(int n, const std::string& model, const std::string& payload, const char* op = "update") {
    return R"({"mutation_id":")" + ulid('M', n) + R"(","entity_id":")" + ulid('E', n) + R"(","model":")" + model +
           R"(","operation":")" + op + R"(","payload":)" + payload + R"(,"version":)" + std::to_string(n) +
           R"(,"timestamp":1732500000123})";
}

struct World {
    std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(t0 + 3'600'000'000);
    std::unique_ptr<Observer> observer;
    std::unique_ptr<beast::Dashboard> dashboard;
    std::vector<std::string> ids;  // what "@0".."@9" stand for

    World() {
        Config config;
        config.replay.live_enabled = true;
        observer = Observer::builder()
                       .config(config)
                       .clock(clock)
                       .ids(std::make_shared<UlidGenerator>(*clock, 7))
                       .error_handler(std::make_shared<FailOnInternalError>())
                       .state_reader(std::make_shared<States>())
                       .replay_target(std::make_shared<Target>())
                       .build();
        auto record = [&](ExchangeKind kind, int n, std::string client, std::string request, std::string response,
                          int status = 200) {
            Exchange ex;
            ex.kind = kind;
            ex.id = ulid('R', n);
            ex.client_id = std::move(client);
            ex.started_at_us = t0 + n * 60'000'000;
            ex.duration_us = 1000 * n;
            ex.http_status = status;
            ex.request_body = std::move(request);
            ex.response_body = std::move(response);
            ex.headers.push_back({"X-Tether-Client-Version", "1.2.3"});
            ex.headers.push_back({"Authorization", "Bearer FZS3CR3T-header"});
            if (n == 1)
                ex.traces.push_back({ulid('M', 1), R"({"title":"A","done":false,"password":"FZS3CR3T-before"})",
                                     R"({"title":"B","done":true,"password":"FZS3CR3T-after"})",
                                     ConflictTrace{"lww", Resolution::client_wins, R"({"title":"S","token":"FZS3CR3T-srv"})",
                                                   "older"}});
            observer->recorder().record(std::move(ex));
        };
        const std::string task = R"({"title":"Buy milk","done":false,"password":"FZS3CR3T-payload"})";
        record(ExchangeKind::push, 1, "c-fuzz-1",
               R"({"client_id":"c-fuzz-1","mutations":[)" + mutation(1, "Task", task) + "," +
                   mutation(2, "Note", R"({"body":"x"})", "create") + "]}",
               R"({"applied":[")" + ulid('M', 2) + R"("],"rejected":[],"conflicts":[{"mutation_id":")" + ulid('M', 1) +
                   R"(","reason":"conflict","data":{"server_state":{"title":"S","done":true},"server_updated_at":"2026-11-24T10:00:00.000000Z"}}]})");
        for (int n = 2; n <= 4; ++n)
            record(ExchangeKind::push, n, "c-fuzz-2",
                   R"({"client_id":"c-fuzz-2","mutations":[)" + mutation(10 + n, "Task", R"({"title":""})") + "]}",
                   R"({"applied":[],"rejected":[{"mutation_id":")" + ulid('M', 10 + n) +
                       R"(","reason":"validation_failed","data":{"messages":{"title":["required"]}}}],"conflicts":[]})");
        record(ExchangeKind::pull, 5, "c-fuzz-1", R"({"client_id":"c-fuzz-1","last_sync_cursor":null,"limit":500})",
               R"({"snapshots":[{"entity_id":")" + ulid('E', 1) +
                   R"(","model":"Task","operation":"upsert","payload":{}}],"new_sync_cursor":1732500000999999,"has_more":false})");
        record(ExchangeKind::push, 6, "c-fuzz-3", "{not json, \"token\": \"FZS3CR3T-raw\"", "", 500);
        if (!observer->recorder().flush(std::chrono::seconds(30))) tf::fail("the recorder did not flush");

        ids = {ulid('R', 1), ulid('R', 2), ulid('R', 5), "c-fuzz-1", "c-fuzz-2"};
        auto& storage = observer->storage();
        PageRequest page;
        page.limit = 10;
        for (const auto& m : storage.list_mutations(ulid('R', 1), {}, page).items) ids.push_back(m.id);
        for (const auto& m : storage.list_mutations(ulid('R', 2), {}, page).items) ids.push_back(m.id);
        FailureGroupQuery groups;
        groups.limit = 5;
        for (const auto& g : observer->failures().groups(groups)) ids.push_back(g.fingerprint);
        while (ids.size() < 10) ids.push_back(ulid('R', 9));

        beast::DashboardOptions options;
        dashboard = std::make_unique<beast::Dashboard>(*observer, options);
    }
};

World& world() {
    static World* w = new World();  // never destroyed: libFuzzer exits without unwinding
    return *w;
}

// Every secret planted in the captured data and the host's state starts with this; no answer
// may contain it (DESIGN §3: a redacted secret never appears in an HTTP response).
constexpr std::string_view planted_secret = "FZS3CR3T";

std::string percent_decoded(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i] == '+' ? ' ' : s[i];
        }
    }
    return out;
}

std::string expand(std::string_view target, const std::vector<std::string>& ids) {
    std::string out;
    for (std::size_t i = 0; i < target.size(); ++i) {
        if (target[i] == '@' && i + 1 < target.size() && target[i + 1] >= '0' && target[i + 1] <= '9') {
            out += ids[static_cast<std::size_t>(target[++i] - '0')];
        } else {
            out += target[i];
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    world();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    World& w = world();
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const tf::Options opt = tf::take_options(input);
    const auto parts = tf::split(input, tf::part_separator);

    std::string target = expand(parts[0], w.ids);
    if (target.empty() || target[0] != '/') target = "/tether/dashboard/" + target;

    beast::Request req;
    req.version(11);
    const std::string_view method = parts.size() > 1 ? parts[1] : std::string_view();
    if (method.empty()) {
        req.method(http::verb::get);
    } else {
        try {
            req.method_string(method);
        } catch (const std::exception&) {
            return 0;  // Beast refuses to carry it: not a request the dashboard can get
        }
    }
    try {
        req.target(target);
        req.set(http::field::host, "127.0.0.1:8080");
        if (parts.size() > 2) {
            for (auto line : tf::split(parts[2], '\n')) {
                const auto colon = line.find(':');
                if (colon == std::string_view::npos || colon == 0) continue;
                auto value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
                req.set(line.substr(0, colon), value);
            }
        }
    } catch (const std::exception&) {
        return 0;  // a header Beast refuses to hold
    }
    if (parts.size() > 3) req.body() = std::string(parts[3]);
    try {
        req.prepare_payload();
    } catch (const std::invalid_argument&) {
        return 0;  // a request Beast cannot frame (TRACE with a body): no server receives it
    }

    static const boost::asio::ip::address remotes[] = {boost::asio::ip::make_address("127.0.0.1"),
                                                       boost::asio::ip::make_address("::1"),
                                                       boost::asio::ip::make_address("10.1.2.3")};
    const auto& remote = remotes[opt.at(0) % 3];

    std::optional<beast::Response> res = w.dashboard->handle(req, remote);  // must not throw
    FUZZ_CHECK(res.has_value() == w.dashboard->owns(req.target()), "handle() and owns() disagree");
    if (!res) return 0;

    const unsigned status = res->result_int();
    FUZZ_CHECK(status >= 100 && status <= 599, std::to_string(status));
    FUZZ_CHECK(status != 500, res->body());
    if (beast::Dashboard::is_event_stream(*res)) return 0;  // only its head: serve_event_stream writes the rest
    // The client may have sent the marker itself, raw or percent-encoded (an echo is not a leak).
    if (input.find(planted_secret) == std::string_view::npos &&
        percent_decoded(input).find(planted_secret) == std::string::npos)
        FUZZ_CHECK(res->body().find(planted_secret) == std::string::npos,
                   "a planted secret in the answer to " + target + ": " + res->body().substr(0, 600));
    if (req.method() == http::verb::head) FUZZ_CHECK(res->body().empty(), "a HEAD answer with a body");
    const auto length = (*res)[http::field::content_length];
    if (req.method() != http::verb::head)
        FUZZ_CHECK(length == std::to_string(res->body().size()), "Content-Length does not match the body");
    const auto type = (*res)[http::field::content_type];
    if (req.method() != http::verb::head && type.starts_with("application/json")) {
        auto doc = tf::parse(res->body(), 10'000);
        if (!doc) tf::fail("a JSON answer that is not JSON", res->body().substr(0, 300));
        if (status >= 400) {
            const auto* o = doc->if_object();
            FUZZ_CHECK(o && o->contains("error") && o->contains("message"), res->body().substr(0, 300));
        }
    }
    return 0;
}
