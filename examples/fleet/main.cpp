// tether-fleet: N simulated Tether clients generating realistic sync traffic (offline
// bursts, conflicts, validation failures, missing entities, duplicates, a broken client
// release, pulls with cursors) against a sync server. See README.md.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/flags.hpp"
#include "http_client.hpp"
#include "simulation.hpp"
#include "summary.hpp"

namespace {

constexpr const char* usage = R"(usage: tether-fleet [options]

Simulated Tether clients pushing and pulling against a sync server.

  --url URL            server base URL (default http://127.0.0.1:8080); routes are URL/sync/push, URL/sync/pull
  --clients N          simulated clients (default 50)
  --requests N         stop after N requests (default 1000 unless --duration is given)
  --duration S         stop after S seconds (with --requests: whichever comes first)
  --rate R             requests per second overall, 0 = as fast as possible (default 0)
  --concurrency N      worker threads, one keep-alive connection each (default 4)
  --seed S             seed for every random choice (default 1)
  --timeout S          per-request timeout in seconds (default 30)
  --summary-json FILE  write what was sent and what the server answered as JSON
  -h, --help           this text

Exit status: 0 when done, 1 when the server is unreachable or rejects the setup push,
2 for bad flags, 130 when interrupted (the summary is still written).
)";

struct Options {
    std::string url = "http://127.0.0.1:8080";
    unsigned clients = 50;
    std::optional<std::uint64_t> requests;
    std::optional<double> duration_s;
    double rate = 0;
    unsigned concurrency = 4;
    std::uint64_t seed = 1;
    unsigned timeout_s = 30;
    std::string summary_json;
};

std::optional<Options> parse_flags(int argc, char** argv, std::string& error, bool& help) {
    Options o;
    auto fail = [&](std::string message) {
        error = std::move(message);
        return std::optional<Options>();
    };
    example::FlagReader flags(argc, argv);
    while (flags.next()) {
        const std::string_view arg = flags.name();
        if (arg == "-h" || arg == "--help") {
            help = true;
            return o;
        }
        static const std::set<std::string_view> known = {"--url",      "--clients", "--requests",
                                                         "--duration", "--rate",    "--concurrency",
                                                         "--seed",     "--timeout", "--summary-json"};
        if (!known.count(arg)) return fail("unknown argument \"" + std::string(arg) + "\"");
        auto value = flags.value();
        if (!value) return fail(flags.error);
        const std::string& v = *value;

        if (arg == "--url") {
            o.url = v;
        } else if (arg == "--clients") {
            if (!example::parse_number<unsigned>(v, o.clients, 1, 100'000))
                return fail("--clients \"" + v + "\" must be an integer from 1 to 100000");
        } else if (arg == "--requests") {
            std::uint64_t n = 0;
            if (!example::parse_number<std::uint64_t>(v, n, 1, UINT64_MAX))
                return fail("--requests \"" + v + "\" must be a positive integer");
            o.requests = n;
        } else if (arg == "--duration") {
            double d = 0;
            if (!example::parse_number<double>(v, d, 0.001, 31'536'000.0))
                return fail("--duration \"" + v + "\" must be a positive number of seconds");
            o.duration_s = d;
        } else if (arg == "--rate") {
            if (!example::parse_number<double>(v, o.rate, 0.0, 1e7))
                return fail("--rate \"" + v + "\" must be a number >= 0 (requests per second)");
        } else if (arg == "--concurrency") {
            if (!example::parse_number<unsigned>(v, o.concurrency, 1, 256))
                return fail("--concurrency \"" + v + "\" must be an integer from 1 to 256");
        } else if (arg == "--seed") {
            if (!example::parse_number<std::uint64_t>(v, o.seed, 0, UINT64_MAX))
                return fail("--seed \"" + v + "\" must be a non-negative integer");
        } else if (arg == "--timeout") {
            if (!example::parse_number<unsigned>(v, o.timeout_s, 1, 3600))
                return fail("--timeout \"" + v + "\" must be an integer from 1 to 3600");
        } else if (arg == "--summary-json") {
            if (v.empty()) return fail("--summary-json needs a file name");
            o.summary_json = v;
        }
    }
    if (!o.requests && !o.duration_s) o.requests = 1000;
    return o;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::atomic<bool> interrupted{false};
extern "C" void on_signal(int) { interrupted.store(true); }

/// Spaces requests evenly across all workers for --rate.
class Pacer {
public:
    explicit Pacer(double rate)
        : interval_(rate > 0 ? std::chrono::nanoseconds(static_cast<long long>(1e9 / rate))
                             : std::chrono::nanoseconds(0)) {}
    void wait() {
        if (interval_.count() == 0) return;
        std::chrono::steady_clock::time_point slot;
        {
            std::lock_guard lock(mutex_);
            const auto now = std::chrono::steady_clock::now();
            if (next_ < now) next_ = now;
            slot = next_;
            next_ += interval_;
        }
        std::this_thread::sleep_until(slot);
    }

private:
    std::chrono::nanoseconds interval_;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point next_{};
};

// "2.4.1" etc.; about one client in seven runs the broken release.
std::string version_for(std::size_t index) {
    static constexpr const char* healthy[] = {"2.4.1", "2.5.0", "2.4.1", "2.3.7", "2.5.0", "2.4.1"};
    if (index % 7 == 3) return fleet::broken_version;
    return healthy[index % 6];
}

std::vector<std::string> client_ids(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(fleet::mix_seed(seed, 0xC1D));
    const int digits = n <= 4096 ? 4 : 8;
    std::set<std::string> seen;
    std::vector<std::string> ids;
    while (ids.size() < n) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "c-%0*llx", digits,
                      static_cast<unsigned long long>(rng() & (digits == 4 ? 0xFFFFull : 0xFFFFFFFFull)));
        if (seen.insert(buf).second) ids.emplace_back(buf);
    }
    return ids;
}

const boost::json::value* parse_body(const std::string& text, boost::json::value& storage) {
    std::error_code ec;
    storage = boost::json::parse(text, ec);
    return ec ? nullptr : &storage;
}

}  // namespace

int main(int argc, char** argv) {
    std::string flag_error;
    bool help = false;
    auto parsed = parse_flags(argc, argv, flag_error, help);
    if (help) {
        std::fputs(usage, stdout);
        return 0;
    }
    if (!parsed) {
        std::fprintf(stderr, "tether-fleet: %s (see --help)\n", flag_error.c_str());
        return 2;
    }
    const Options opt = *parsed;
    std::string url_error;
    auto url = fleet::Url::parse(opt.url, url_error);
    if (!url) {
        std::fprintf(stderr, "tether-fleet: --url \"%s\": %s (see --help)\n", opt.url.c_str(), url_error.c_str());
        return 2;
    }
    const auto timeout = std::chrono::seconds(opt.timeout_s);

    // Setup doubles as the reachability probe: a dead server or a URL that is not a Tether
    // server is reported before any worker starts.
    const fleet::World world = fleet::make_world(opt.seed);
    fleet::Summary setup_summary;
    {
        fleet::HttpClient probe(*url, timeout);
        try {
            probe.connect();
            const auto setup = fleet::make_setup_push(world, now_ms(), opt.seed);
            auto res = probe.post(setup.path, setup.body,
                                  {{"X-Tether-Client-Version", "2.4.1"}, {"User-Agent", "tether-fleet/setup"}});
            boost::json::value doc;
            const auto* body = parse_body(res.body, doc);
            if (res.status != 200 || !body || !body->is_object() || !body->get_object().contains("applied")) {
                std::fprintf(stderr,
                             "tether-fleet: %s does not answer like a Tether sync server: POST %s/sync/push gave HTTP "
                             "%d %.200s\n",
                             url->to_string().c_str(), url->base.c_str(), res.status, res.body.c_str());
                return 1;
            }
            fleet::account(setup, "c-setup", "2.4.1", res.status, body, res.latency_ms, false, setup_summary);
        } catch (const fleet::TransportError& e) {
            std::fprintf(stderr, "tether-fleet: the server is unreachable: %s\n", e.what());
            return 1;
        }
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    const auto ids = client_ids(opt.clients, opt.seed);
    std::vector<fleet::SimClient> clients;
    clients.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
        clients.emplace_back(ids[i], version_for(i), fleet::mix_seed(opt.seed, 1000 + i), world);

    const unsigned workers = std::min<unsigned>(opt.concurrency, opt.clients);
    std::vector<fleet::Summary> summaries(workers);
    std::atomic<bool> fatal{false};
    std::mutex fatal_mutex;
    std::string fatal_message;
    Pacer pacer(opt.rate);
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = opt.duration_s ? started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                         std::chrono::duration<double>(*opt.duration_s))
                                         : std::chrono::steady_clock::time_point::max();

    auto work = [&](unsigned w) {
        // Everything a worker touches is its own: its clients (i % workers == w), its
        // connection, its summary. Nothing escapes the thread.
        try {
            fleet::HttpClient http(*url, timeout);
            std::vector<fleet::SimClient*> mine;
            for (std::size_t i = w; i < clients.size(); i += workers) mine.push_back(&clients[i]);
            std::mt19937_64 rng(fleet::mix_seed(opt.seed, 500 + w));
            std::uint64_t quota = UINT64_MAX;
            if (opt.requests) quota = *opt.requests / workers + (w < *opt.requests % workers ? 1 : 0);
            for (std::uint64_t n = 0; n < quota; ++n) {
                if (fatal || interrupted || std::chrono::steady_clock::now() >= deadline) break;
                pacer.wait();
                fleet::SimClient& client = *mine[std::uniform_int_distribution<std::size_t>(0, mine.size() - 1)(rng)];
                const fleet::Request req = client.next(now_ms());
                const fleet::HttpClient::Headers headers = {{"X-Tether-Client-Version", client.version()},
                                                            {"Authorization", client.authorization()},
                                                            {"User-Agent", "tether-fleet/" + client.version()}};
                try {
                    auto res = http.post(req.path, req.body, headers);
                    boost::json::value doc;
                    const auto* body = parse_body(res.body, doc);
                    fleet::account(req, client.id(), client.version(), res.status, body, res.latency_ms, false,
                                   summaries[w]);
                    client.on_response(req, res.status, body);
                } catch (const fleet::Unreachable&) {
                    throw;
                } catch (const fleet::TransportError& e) {
                    fleet::account(req, client.id(), client.version(), 0, nullptr, 0, true, summaries[w]);
                    client.on_transport_error(req);
                    std::fprintf(stderr, "tether-fleet: %s\n", e.what());
                }
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(fatal_mutex);
            if (!fatal.exchange(true)) fatal_message = e.what();
        } catch (...) {
            std::lock_guard lock(fatal_mutex);
            if (!fatal.exchange(true)) fatal_message = "unknown error";
        }
    };
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < workers; ++w) threads.emplace_back(work, w);
    for (auto& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    fleet::Summary total = setup_summary;
    for (const auto& s : summaries) total.merge(s);
    std::fputs(total.to_text(elapsed, fleet::broken_version).c_str(), stdout);
    if (!opt.summary_json.empty()) {
        std::ofstream out(opt.summary_json, std::ios::binary | std::ios::trunc);
        out << total.to_json(elapsed, url->to_string(), opt.seed, fleet::broken_version) << '\n';
        if (!out) {
            std::fprintf(stderr, "tether-fleet: cannot write %s\n", opt.summary_json.c_str());
            return 1;
        }
    }
    if (fatal) {
        std::fprintf(stderr, "tether-fleet: stopped early: %s\n", fatal_message.c_str());
        return 1;
    }
    return interrupted ? 130 : 0;
}
