// Soak: tether-example-server with retention on, fed by tether-fleet at a steady rate for
// MINUTES, while wrk hammers the dashboard's metrics route and SSE readers hold live-update
// streams open. Samples the server's RSS, open file descriptors, the observer database (file,
// WAL, live pages, stored requests and poison candidates) and the recorder's counters, then
// checks that memory and descriptors stay flat, retention holds the stored rows to its limits,
// the file never outgrows the live data it holds (freed pages are reused) and the WAL is
// reset by checkpoints, nothing is dropped, the dashboard never errs, and every number still
// equals what the fleet sent.
//
//   tether_soak [--minutes M (2)] [--rate R (400)] [--sse N (16)] [--retain N (4000)]
//               [--track N (5000)] [--json FILE]
// --retain and --track set retention.max_requests and retention.max_tracked_mutations.
//
// Prints one line per sample, then one JSON line; exits 1 when a check fails, 77 (skipped)
// when wrk is not installed.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "e2e/e2e_support.hpp"
#include "support/temp_dir.hpp"

using namespace tether::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct Options {
    double minutes = 2;
    int rate = 400;
    int sse = 16;
    int retain = 4000;
    int track = 5000;  // retention.max_tracked_mutations: small, so the soak exercises the trim
    std::string json_out;
};

struct Sample {
    double t_s = 0;
    double rss_mb = 0;
    int fds = 0;
    double db_mb = 0;   // the database file with its WAL and shared-memory index
    double main_mb = 0; // the database file alone
    double wal_mb = 0;  // the WAL alone: grows when checkpoints cannot reset it
    double live_mb = 0; // pages in use (page_count - freelist_count): what retention keeps
    std::int64_t stored = 0, tracked = 0;  // requests and poison candidates in the file
    std::uint64_t written = 0, dropped = 0, pruned = 0;
};

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "tether_soak: %s\n", message.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage_error(a + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--minutes") o.minutes = std::stod(next());
            else if (a == "--rate") o.rate = std::stoi(next());
            else if (a == "--sse") o.sse = std::stoi(next());
            else if (a == "--retain") o.retain = std::stoi(next());
            else if (a == "--track") o.track = std::stoi(next());
            else if (a == "--json") o.json_out = next();
            else usage_error("unknown argument '" + a + "'");
        } catch (const std::logic_error&) {
            usage_error(a + " needs a number");
        }
    }
    if (o.minutes <= 0 || o.rate <= 0 || o.sse < 0 || o.retain <= 0 || o.track <= 0) usage_error("values must be positive");
    return o;
}

double rss_mb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

int open_fds(pid_t pid) {
    int n = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
        ++n;
    return n;
}

// What the file holds, read through a read-only connection (WAL readers never block the writer).
void read_store(const fs::path& db, Sample& s) {
    sqlite3* h = nullptr;
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(h, 2000);
        auto one = [&](const char* sql) -> std::int64_t {
            sqlite3_stmt* st = nullptr;
            std::int64_t v = -1;
            if (sqlite3_prepare_v2(h, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
            return v;
        };
        sqlite3_exec(h, "BEGIN", nullptr, nullptr, nullptr);  // one snapshot for every number
        const auto pages = one("PRAGMA page_count"), free = one("PRAGMA freelist_count"), size = one("PRAGMA page_size");
        s.live_mb = static_cast<double>(pages - free) * static_cast<double>(size) / (1024.0 * 1024.0);
        s.stored = one("SELECT count(*) FROM requests");
        s.tracked = one("SELECT count(*) FROM poison_candidates");
        sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr);
    }
    sqlite3_close(h);
}

double file_mb(const fs::path& file) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    return ec ? 0.0 : static_cast<double>(size) / (1024.0 * 1024.0);
}

// One live-update reader: counts the `metrics` events it receives until told to stop.
class SseReader {
public:
    explicit SseReader(std::uint16_t port) : socket_(io_) {
        socket_.connect({net::ip::make_address("127.0.0.1"), port});
        const std::string req = "GET /tether/dashboard/api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        net::write(socket_, net::buffer(req));
        thread_ = std::thread([this] { run(); });
    }
    ~SseReader() { stop(); }
    void stop() {
        if (!thread_.joinable()) return;
        stopping_ = true;
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        thread_.join();
    }
    int metrics_events() const { return metrics_.load(); }
    bool ended_early() const { return ended_early_.load(); }

private:
    void run() {
        std::array<char, 8192> buf;
        std::string tail;
        for (;;) {
            boost::system::error_code ec;
            const auto n = socket_.read_some(net::buffer(buf), ec);
            if (ec) {
                if (!stopping_) ended_early_ = true;
                return;
            }
            tail.append(buf.data(), n);
            for (std::size_t at; (at = tail.find("event: metrics\n")) != std::string::npos;) {
                ++metrics_;
                tail.erase(0, at + 15);
            }
            if (tail.size() > 64) tail.erase(0, tail.size() - 64);
        }
    }
    net::io_context io_;
    tcp::socket socket_;
    std::thread thread_;
    std::atomic<bool> stopping_{false}, ended_early_{false};
    std::atomic<int> metrics_{0};
};

// The full path of `name` on PATH ("" when absent): Process spawns paths, not names.
std::string find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (std::size_t start = 0; start <= dirs.size();) {
        const auto end = std::min(dirs.find(':', start), dirs.size());
        const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = end + 1;
    }
    return {};
}

std::uint64_t wrk_count(const std::string& out, const std::string& pattern) {
    std::smatch m;
    if (std::regex_search(out, m, std::regex(pattern))) return std::stoull(m[1].str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const std::string wrk_binary = find_on_path("wrk");
    if (wrk_binary.empty()) {
        std::puts("SKIP soak: wrk is not installed (scripts/install-deps installs it)");
        return 77;
    }
    tether::test::TempDir dir;
    const std::string config = dir.file("tether.json");
    std::ofstream(config) << R"({"retention": {"max_requests": )" << o.retain << R"(, "max_tracked_mutations": )"
                          << o.track << R"(, "prune_batch": 500, "prune_interval_ms": 1000}})";
    const auto duration = std::chrono::milliseconds(static_cast<long>(o.minutes * 60'000));
    const auto seconds = std::to_string(std::max<long>(1, static_cast<long>(o.minutes * 60)));

    ExampleServer server(dir.path().string(), {"--config", config});
    const pid_t pid = server.process().pid();
    const std::string summary_path = dir.file("summary.json");
    Process fleet(fleet_binary, {"--url", server.url(), "--seed", "11", "--clients", "50", "--rate",
                                 std::to_string(o.rate), "--duration", seconds, "--summary-json", summary_path});
    std::vector<std::unique_ptr<SseReader>> readers;
    for (int i = 0; i < o.sse; ++i) readers.push_back(std::make_unique<SseReader>(server.port()));
    Process wrk(wrk_binary, {"-t1", "-c8", "-d" + seconds + "s", server.url() + "/tether/dashboard/metrics"});

    std::printf("%7s %7s %4s %7s %7s %7s %7s %7s %9s %8s %7s\n", "t_s", "rss_mb", "fds", "db_mb", "wal_mb", "live_mb",
                "stored", "tracked", "written", "pruned", "dropped");
    std::vector<Sample> samples;
    const auto start = std::chrono::steady_clock::now();
    const auto interval = std::max(duration / 24, std::chrono::milliseconds(1000));
    while (!fleet.wait(interval)) {  // one sample per interval until the fleet is done
        Sample s;
        s.t_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        s.rss_mb = rss_mb(pid);
        s.fds = open_fds(pid);
        s.wal_mb = file_mb(dir.path() / "observer.db-wal");
        s.main_mb = file_mb(dir.path() / "observer.db");
        s.db_mb = s.main_mb + s.wal_mb + file_mb(dir.path() / "observer.db-shm");
        read_store(dir.path() / "observer.db", s);
        try {
            const auto m = server.metrics();
            s.written = count_at(m, "/recorder/written");
            s.dropped = count_at(m, "/recorder/dropped");
            s.pruned = count_at(m, "/recorder/pruned");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "tether_soak: metrics unavailable: %s\n", e.what());
        }
        std::printf("%7.1f %7.1f %4d %7.1f %7.1f %7.1f %7lld %7lld %9llu %8llu %7llu\n", s.t_s, s.rss_mb, s.fds,
                    s.db_mb, s.wal_mb, s.live_mb, static_cast<long long>(s.stored), static_cast<long long>(s.tracked),
                    static_cast<unsigned long long>(s.written), static_cast<unsigned long long>(s.pruned),
                    static_cast<unsigned long long>(s.dropped));
        std::fflush(stdout);
        samples.push_back(s);
        if (std::chrono::steady_clock::now() - start > duration + 120s) break;  // a hung fleet
    }
    const auto fleet_status = fleet.wait(60s);
    const auto wrk_status = wrk.wait(60s);
    for (auto& r : readers) r->stop();

    std::vector<std::string> failures;
    auto check = [&](bool ok, const std::string& what) {
        if (!ok) failures.push_back(what);
    };
    check(fleet_status == 0, "the fleet exited with " + std::to_string(fleet_status.value_or(-1)) + ": " + fleet.err());
    json::value summary;
    try {
        summary = json::parse(read_file(summary_path));
    } catch (const std::exception& e) {
        failures.push_back(std::string("no fleet summary: ") + e.what());
    }
    const std::uint64_t sent = summary.is_object() ? summary.at("requests").to_number<std::uint64_t>() : 0;
    const std::uint64_t transport_errors =
        summary.is_object() ? summary.at("transport_errors").to_number<std::uint64_t>() : 0;
    check(transport_errors == 0, std::to_string(transport_errors) + " fleet requests failed in transport");
    json::value metrics;
    try {
        metrics = server.await_recorded(sent);
        check(count_at(metrics, "/recorder/dropped") == 0, "the recorder dropped exchanges");
        check(count_at(metrics, "/throughput/requests") == sent,
              "metrics count " + std::to_string(count_at(metrics, "/throughput/requests")) + " requests, the fleet sent " +
                  std::to_string(sent));
    } catch (const std::exception& e) {
        failures.push_back(std::string("recording did not settle: ") + e.what());
    }

    const std::string wrk_out = wrk.out();
    const auto wrk_requests = wrk_count(wrk_out, R"((\d+) requests in)");
    const auto wrk_non2xx = wrk_count(wrk_out, R"(Non-2xx or 3xx responses: (\d+))");
    const bool wrk_socket_errors = wrk_out.find("Socket errors") != std::string::npos;
    check(wrk_status == 0 && wrk_requests > 0, "wrk failed: " + wrk_out + wrk.err());
    check(wrk_non2xx == 0, std::to_string(wrk_non2xx) + " dashboard answers were not 2xx");
    check(!wrk_socket_errors, "wrk saw socket errors: " + wrk_out);
    int min_events = INT32_MAX;
    for (const auto& r : readers) {
        min_events = std::min(min_events, r->metrics_events());
        check(!r->ended_early(), "a live-update stream ended while the soak ran");
    }
    if (readers.empty()) min_events = 0;
    // metrics events come every 5 s: a reader that got fewer than half of them was starved.
    const int expected_events = static_cast<int>(o.minutes * 60 / 5 / 2);
    check(readers.empty() || min_events >= expected_events,
          "a live-update reader got " + std::to_string(min_events) + " metrics events, expected >= " +
              std::to_string(expected_events));

    // Flat memory and descriptors: compare the end with a reference taken after warm-up
    // (caches filled) and once retention has started deleting.
    // Bounded size: retention holds the stored rows to its limits (plus what arrives between
    // two prunes, 1 s apart), the file never outgrows the most live data it held by more than
    // the churn of a few prune batches (a page leak or unreused free pages would), and
    // checkpoints keep resetting the WAL despite the constant dashboard readers. The live
    // data itself follows the bodies' sizes, which the fleet's pulls make grow over time.
    Sample reference, last;
    double peak_live = 0, peak_main = 0, peak_wal = 0;
    std::int64_t peak_stored = 0, peak_tracked = 0;
    if (samples.size() >= 4) {
        std::size_t ref = samples.size() / 4;
        while (ref + 2 < samples.size() && samples[ref].pruned == 0) ++ref;
        ref = std::min(ref + 1, samples.size() - 1);
        reference = samples[ref];
        last = samples.back();
        check(last.rss_mb <= reference.rss_mb * 1.3 + 8, "RSS grew from " + std::to_string(reference.rss_mb) + " MB to " +
                                                          std::to_string(last.rss_mb) + " MB");
        check(last.fds <= reference.fds + 4,
              "open descriptors grew from " + std::to_string(reference.fds) + " to " + std::to_string(last.fds));
        for (const auto& s : samples) {
            peak_live = std::max(peak_live, s.live_mb);
            peak_main = std::max(peak_main, s.main_mb);
            peak_wal = std::max(peak_wal, s.wal_mb);
            if (s.pruned > 0) peak_stored = std::max(peak_stored, s.stored);
            peak_tracked = std::max(peak_tracked, s.tracked);
        }
        check(samples.front().stored >= 0 && last.stored >= 0, "the observer database could not be read");
        check(peak_stored <= o.retain + 500 + 2 * o.rate,
              std::to_string(peak_stored) + " requests stored, retention keeps " + std::to_string(o.retain));
        check(peak_tracked <= o.track + 2 * o.rate, std::to_string(peak_tracked) + " poison candidates stored, " +
                                                        "retention keeps " + std::to_string(o.track));
        check(peak_main <= peak_live * 1.25 + 8, "the file grew to " + std::to_string(peak_main) +
                                                     " MB while it never held more than " +
                                                     std::to_string(peak_live) + " MB of live pages");
        check(peak_wal <= 64, "the WAL grew to " + std::to_string(peak_wal) + " MB: checkpoints did not reset it");
        check(last.pruned > 0, "retention never pruned");
    } else {
        failures.push_back("too few samples (" + std::to_string(samples.size()) + ")");
    }
    server.terminate();

    json::object out{{"soak", failures.empty() ? "ok" : "failed"},
                     {"minutes", o.minutes},
                     {"rate", o.rate},
                     {"requests", sent},
                     {"retain", o.retain},
                     {"rss_mb_start", samples.empty() ? 0 : samples.front().rss_mb},
                     {"rss_mb_reference", reference.rss_mb},
                     {"rss_mb_end", last.rss_mb},
                     {"fds_start", samples.empty() ? 0 : samples.front().fds},
                     {"fds_end", last.fds},
                     {"track", o.track},
                     {"db_mb_end", last.db_mb},
                     {"file_mb_peak", peak_main},
                     {"live_mb_peak", peak_live},
                     {"wal_mb_peak", peak_wal},
                     {"stored_peak", peak_stored},
                     {"tracked_peak", peak_tracked},
                     {"pruned", last.pruned},
                     {"dropped", last.dropped},
                     {"dashboard_requests", wrk_requests},
                     {"dashboard_non_2xx", wrk_non2xx},
                     {"sse_readers", o.sse},
                     {"sse_min_metrics_events", min_events}};
    const std::string line = json::serialize(out);
    std::puts(line.c_str());
    if (!o.json_out.empty()) std::ofstream(o.json_out) << line << "\n";
    for (const auto& f : failures) std::fprintf(stderr, "tether_soak: FAILED: %s\n", f.c_str());
    return failures.empty() ? 0 : 1;
}
