// GET {prefix}/metrics through the dashboard vs a bare Beast handler answering a static body
// of the same size, on the same server (same threads, same connection handling), both
// loaded by wrk in the same run. The store holds 100 000 requests (--requests N) recorded
// over the last 24 h, so the metrics document is a real one.
// Prints {"bench":"http","metrics_rps":…,"bare_rps":…,"ratio":…}
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common.hpp"
#include "http/loopback_host.hpp"
#include "tether/beast/dashboard.hpp"
#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;
namespace http = boost::beast::http;

namespace {

double wrk_rps(const std::string& url) {
    const std::string cmd = "wrk -t1 -c16 -d5s " + url + " 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    if (!pipe) return -1;
    char line[512];
    double rps = -1;
    bool errors = false;
    while (std::fgets(line, sizeof line, pipe.get())) {
        std::sscanf(line, "Requests/sec: %lf", &rps);
        errors = errors || std::string(line).find("Non-2xx") != std::string::npos;
    }
    return errors ? -1 : rps;
}

}  // namespace

int main(int argc, char** argv) {
    if (std::system("command -v wrk >/dev/null 2>&1") != 0) {
        std::fprintf(stderr, "bench http: wrk is not installed (scripts/install-deps installs it)\n");
        return 1;
    }
    const std::size_t requests = bench::requests_flag(argc, argv, 100'000);
    bench::ScratchDir dir;
    auto storage = open_sqlite_storage({dir.file("observer.db")});
    auto observer = Observer::builder().storage(storage).build();
    bench::fill_store(*storage, observer->telemetry(), requests, 10, SystemClock().now_us());
    beast::Dashboard dashboard(*observer);
    const std::string bare(to_json(observer->metrics(MetricsWindow::h24)).size(), ' ');

    // The baseline: what the host answers with no work at all, on the same server.
    test::LoopbackHost::Options host_options;
    host_options.threads = 2;
    host_options.fallback = [&bare](const beast::Request& req) {
        beast::Response res{http::status::ok, req.version()};
        res.set(http::field::content_type, "application/json");
        res.body() = bare;
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        return res;
    };
    double bare_rps = 0, metrics_rps = 0;
    {
        test::LoopbackHost host(dashboard, host_options);
        const std::string base = "http://127.0.0.1:" + std::to_string(host.port());
        bare_rps = wrk_rps(base + "/bare");
        metrics_rps = wrk_rps(base + dashboard.prefix() + "/metrics");
    }
    if (bare_rps <= 0 || metrics_rps <= 0) {
        std::fprintf(stderr, "bench http: wrk failed or saw non-2xx answers\n");
        return 1;
    }
    std::printf("{\"bench\":\"http\",\"metrics_rps\":%.0f,\"bare_rps\":%.0f,\"ratio\":%.3f,\"body_bytes\":%zu,"
                "\"stored_requests\":%zu}\n",
                metrics_rps, bare_rps, metrics_rps / bare_rps, bare.size(), requests);
    return 0;
}
