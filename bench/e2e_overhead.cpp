// What recording costs a real sync server: tether-fleet at full speed (no --rate, fixed seed
// and request count) against tether-example-server with the observer on (SQLite) and with
// --no-observer, in the same run, each on fresh databases. Rounds alternate which mode goes
// first (off/on, on/off, …) and the medians are reported, to tame the noise of a shared
// machine. The fleet's --summary-json gives requests_per_s and latency_ms.p99 (client side,
// so the whole request path counts).
//
//   bench_e2e_overhead [--requests N (20000)] [--duration S] [--rounds R (3)]
//                      [--concurrency C (4)] [--clients N (50)] [--seed S (7)] [--paced F (0.5)]
//
// Then, because a saturated 2-core machine charges every cycle of the observer's background
// writer to the host, the same rounds again paced at F × rps_off (the fleet's --rate, about
// 10 s each; --paced 0 skips them): the latency a production server below saturation sees.
//
// Prints {"bench":"e2e_overhead","rps_on":…,"rps_off":…,"p99_ms_on":…,"p99_ms_off":…,
//         "rps_ratio":on/off,"p99_ratio":on/off,"server_cpu_s_on":…,"server_cpu_s_off":…,
//         "observer_cpu_us_per_request":…,"observer_process_us":…,"observer_store_us":…,"dropped_on":…,
//         "rounds":R,…,"targets_met":bool}
// Paced keys: "paced_rps", "p99_ms_on_paced", "p99_ms_off_paced", "p99_ratio_paced".
// Targets (full speed): rps_ratio >= 0.95 and p99_ratio <= 1.05. Per-run figures go to stderr.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "e2e/process.hpp"

namespace json = boost::json;
using tether::e2e::Process;

namespace {

struct Options {
    std::string requests = "20000";
    bool requests_given = false;
    std::string duration;
    int rounds = 3;
    std::string concurrency = "4";
    std::string clients = "50";
    std::string seed = "7";
    double paced = 0.5;
};

struct Run {
    double rps = 0;
    double p99_ms = 0;
    double server_cpu_s = 0;  ///< user + system CPU of the server process, start to exit
    std::uint64_t requests = 0;
    // Observer on: what the server reported at exit.
    double process_cpu_s = 0, store_cpu_s = 0;  ///< the recorder's two threads
    std::uint64_t written = 0, dropped = 0;
};

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "bench_e2e_overhead: %s\n", message.c_str());
    std::exit(1);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(std::string(a) + " needs a value");
            return argv[++i];
        };
        if (a == "--requests") {
            o.requests = value();
            o.requests_given = true;
        } else if (a == "--duration")
            o.duration = value();
        else if (a == "--rounds")
            o.rounds = std::max(1, std::atoi(value().c_str()));
        else if (a == "--concurrency")
            o.concurrency = value();
        else if (a == "--clients")
            o.clients = value();
        else if (a == "--seed")
            o.seed = value();
        else if (a == "--paced")
            o.paced = std::clamp(std::atof(value().c_str()), 0.0, 1.0);
        else
            fail("unknown argument \"" + std::string(a) + "\"");
    }
    return o;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double number(const json::value& v) { return v.is_double() ? v.get_double() : v.to_number<double>(); }

// One fleet run; `rate` > 0 paces it (requests per second) instead of full speed.
Run run_once(const Options& o, bool observe, long rate = 0) {
    tether::bench::ScratchDir dir;
    std::vector<std::string> server_args = {"--host", "127.0.0.1",        "--port",        "0",
                                            "--data", dir.file("app.db"), "--observer-db", dir.file("observer.db")};
    if (!observe) server_args.push_back("--no-observer");
    Process server(TETHER_EXAMPLE_SERVER, server_args);
    constexpr std::string_view marker = "listening on http://";
    if (!server.wait_for_stdout(
            [&](const std::string& out) {
                const auto at = out.find(marker);
                return at != std::string::npos && out.find('\n', at) != std::string::npos;
            },
            std::chrono::seconds(30)))
        fail("the server did not start:\n" + server.describe());
    const std::string out = server.out();
    const auto at = out.find(marker);
    const std::string url = "http://" + out.substr(at + marker.size(), out.find('\n', at) - at - marker.size());

    const std::string summary_path = dir.file("summary.json");
    std::vector<std::string> fleet_args = {"--url",     url,       "--seed",         o.seed,      "--concurrency",
                                           o.concurrency, "--clients", o.clients, "--summary-json", summary_path};
    // --duration alone runs for that long; with --requests too, whichever ends first.
    if (rate > 0) {
        fleet_args.insert(fleet_args.end(), {"--rate", std::to_string(rate), "--requests", std::to_string(rate * 10)});
    } else {
        if (!o.duration.empty()) fleet_args.insert(fleet_args.end(), {"--duration", o.duration});
        if (o.duration.empty() || o.requests_given) fleet_args.insert(fleet_args.end(), {"--requests", o.requests});
    }
    Process fleet(TETHER_FLEET, fleet_args);
    const auto fleet_status = fleet.wait(std::chrono::minutes(10));
    if (fleet_status != 0) fail("the fleet failed:\n" + fleet.describe());

    server.signal(SIGTERM);
    const auto server_status = server.wait(std::chrono::seconds(60));
    if (server_status != 0) fail("the server did not shut down cleanly:\n" + server.describe());

    std::ifstream in(summary_path);
    std::stringstream text;
    text << in.rdbuf();
    const json::value summary = json::parse(text.str());
    if (summary.at("transport_errors").to_number<std::uint64_t>() != 0)
        fail("transport errors during the run:\n" + text.str());
    Run r;
    if (observe) {
        // "recorded N exchanges (W written, D dropped); observer CPU P s processing, S s storing"
        const std::string err = server.err();
        const auto at = err.find("recorded ");
        unsigned long long offered = 0, written = 0, dropped = 0;
        if (at == std::string::npos ||
            std::sscanf(err.c_str() + at, "recorded %llu exchanges (%llu written, %llu dropped); observer CPU %lf s processing, %lf s storing",
                        &offered, &written, &dropped, &r.process_cpu_s, &r.store_cpu_s) != 5)
            fail("the server did not report its recorder figures:\n" + server.describe());
        r.written = written;
        r.dropped = dropped;
    }
    r.server_cpu_s = server.cpu_seconds();
    r.rps = number(summary.at("requests_per_s"));
    r.p99_ms = number(summary.at("latency_ms").at("p99"));
    r.requests = summary.at("requests").to_number<std::uint64_t>();
    std::fprintf(stderr, "observer %-3s %-6s %8.1f req/s  p99 %7.3f ms  server CPU %6.2f s  (%llu requests)",
                 observe ? "on" : "off", rate > 0 ? "paced" : "full", r.rps, r.p99_ms, r.server_cpu_s,
                 static_cast<unsigned long long>(r.requests));
    if (observe)
        std::fprintf(stderr, "  observer CPU %.2f + %.2f s, %llu written, %llu dropped", r.process_cpu_s, r.store_cpu_s,
                     static_cast<unsigned long long>(r.written), static_cast<unsigned long long>(r.dropped));
    std::fprintf(stderr, "\n");
    return r;
}

double round3(double v) { return static_cast<double>(static_cast<long long>(v * 1000 + 0.5)) / 1000; }

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    std::vector<double> rps_on, rps_off, p99_on, p99_off, cpu_on, cpu_off, process_us, store_us;
    std::uint64_t dropped = 0;
    for (int round = 0; round < o.rounds; ++round) {
        // Alternate the order so that neither mode always runs on a warmer (or busier) machine.
        for (bool observe : round % 2 == 0 ? std::vector<bool>{false, true} : std::vector<bool>{true, false}) {
            const Run r = run_once(o, observe);
            (observe ? rps_on : rps_off).push_back(r.rps);
            (observe ? p99_on : p99_off).push_back(r.p99_ms);
            (observe ? cpu_on : cpu_off).push_back(r.server_cpu_s);
            if (observe && r.written > 0) {
                process_us.push_back(r.process_cpu_s * 1e6 / static_cast<double>(r.written));
                store_us.push_back(r.store_cpu_s * 1e6 / static_cast<double>(r.written));
            }
            dropped += r.dropped;
        }
    }
    const double on = median(rps_on), off = median(rps_off), p_on = median(p99_on), p_off = median(p99_off);
    json::object doc;
    doc["bench"] = "e2e_overhead";
    doc["rps_on"] = round3(on);
    doc["rps_off"] = round3(off);
    doc["p99_ms_on"] = round3(p_on);
    doc["p99_ms_off"] = round3(p_off);
    doc["rps_ratio"] = round3(off > 0 ? on / off : 0);
    doc["p99_ratio"] = round3(p_off > 0 ? p_on / p_off : 0);
    // Where the time goes: the server's own CPU for the same work (the observer's writer
    // threads included when on). On a machine whose cores the fleet and the server already
    // saturate, extra CPU in the server shows up one for one as lost throughput.
    doc["server_cpu_s_on"] = round3(median(cpu_on));
    doc["server_cpu_s_off"] = round3(median(cpu_off));
    // The observer's own threads per recorded exchange: steadier than the ratios on a noisy machine.
    doc["observer_cpu_us_per_request"] = round3(median(process_us) + median(store_us));
    doc["observer_process_us"] = round3(median(process_us));
    doc["observer_store_us"] = round3(median(store_us));
    doc["dropped_on"] = dropped;
    doc["rounds"] = o.rounds;
    if (o.duration.empty() || o.requests_given) doc["requests"] = std::stoull(o.requests);
    if (!o.duration.empty()) doc["duration_s"] = std::stod(o.duration);
    doc["concurrency"] = std::stoi(o.concurrency);
    doc["targets_met"] = off > 0 && p_off > 0 && on >= 0.95 * off && p_on <= 1.05 * p_off;
    if (o.paced > 0 && off > 0) {
        const long rate = std::max(1L, static_cast<long>(o.paced * off));
        std::vector<double> paced_on, paced_off;
        for (int round = 0; round < o.rounds; ++round)
            for (bool observe : round % 2 == 0 ? std::vector<bool>{false, true} : std::vector<bool>{true, false})
                (observe ? paced_on : paced_off).push_back(run_once(o, observe, rate).p99_ms);
        const double q_on = median(paced_on), q_off = median(paced_off);
        doc["paced_rps"] = rate;
        doc["p99_ms_on_paced"] = round3(q_on);
        doc["p99_ms_off_paced"] = round3(q_off);
        doc["p99_ratio_paced"] = round3(q_off > 0 ? q_on / q_off : 0);
    }
    std::printf("%s\n", json::serialize(doc).c_str());
    return 0;
}
