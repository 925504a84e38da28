// tether-example-server: a real Tether sync server (push/pull over HTTP, SQLite application
// database) that records every exchange with tether-pro. See README.md.
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include "common/flags.hpp"
#include "http_server.hpp"
#include "replay_services.hpp"
#include "sync_engine.hpp"
#include "tether/observer.hpp"
#include "tether/open_storage.hpp"
#include "tether/sqlite_storage.hpp"

namespace {

constexpr const char* usage = R"(usage: tether-example-server [options]

A Tether sync server (POST /sync/push, POST /sync/pull) recording its traffic with tether-pro.

  --host HOST             address to listen on (default 127.0.0.1)
  --port PORT             port, 0 = pick a free one (default 8080)
  --threads N             I/O threads (default 4)
  --idle-timeout SECONDS  close a connection that has not sent a complete request within this
                          time, idle keep-alive and slow senders alike (default 60)
  --data FILE             application database, SQLite (default tether-example-app.db)
  --observer-db URL       where tether-pro stores captures: a SQLite file, sqlite:PATH,
                          "memory", or postgresql://USER:PASSWORD@HOST:PORT/DB when built with
                          tether::postgres (several instances may share one database)
                          (default tether-observer.db)
  --config FILE           tether-pro configuration, JSON (docs/configuration.md): retention,
                          redaction, recorder, telemetry...; the flags below override its keys
  --instance NAME         instance name recorded with every exchange (default "default")
  --no-observer           do not record anything
  --strict-duplicates     re-pushed mutation ids are rejected as "duplicate" (default: reported applied)
  --token TOKEN           protect the dashboard with this bearer token (browsers sign in once
                          at /tether/dashboard/?token=TOKEN); default: loopback clients only
  --replay-live           allow live replay from the dashboard
  -h, --help              this text

The dashboard is served at /tether/dashboard/ (not with --no-observer).
Prints "listening on http://HOST:PORT" once ready. SIGINT/SIGTERM shut down cleanly.
Exit status: 0 after a clean shutdown, 1 when startup fails, 2 for bad flags.
)";

/// Settings for the dashboard routes.
struct DashboardSettings {
    std::string token;         ///< bearer token required by the dashboard ("" = loopback only)
    bool replay_live = false;  ///< replay.live_enabled
};

struct Options {
    example::HttpOptions http;
    std::string data = "tether-example-app.db";
    std::string observer_db = "tether-observer.db";
    bool observer_db_given = false;
    std::string config_file;  ///< tether-pro configuration (JSON); flags override its keys
    std::string instance;
    bool observe = true;
    bool strict_duplicates = false;
    DashboardSettings dashboard;
};

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db": URLs reach stderr.
std::string without_password(const std::string& url) {
    const auto scheme = url.find("://");
    const auto at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
    if (scheme == std::string::npos || at == std::string::npos) return url;
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// Whether a config file (already read successfully by Config::from_file) names the observer
// database itself; "" = no file.
bool config_sets_storage_url(const std::string& path) {
    if (path.empty()) return false;
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const auto doc = boost::json::parse(text.str(), ec);
    if (ec || !doc.is_object()) return false;
    const auto* storage = doc.as_object().if_contains("storage");
    return storage && storage->is_object() && storage->as_object().contains("url");
}

struct FlagError {
    std::string message;
};

// Accepts "--flag value" and "--flag=value".
std::optional<Options> parse_flags(int argc, char** argv, FlagError& error, bool& help) {
    Options o;
    auto fail = [&](std::string message) {
        error.message = std::move(message);
        return std::optional<Options>();
    };
    example::FlagReader flags(argc, argv);
    auto value = [&] {
        auto v = flags.value();
        if (!v) error.message = flags.error;
        return v;
    };
    auto flag_only = [&] {
        if (flags.no_value()) return true;
        error.message = flags.error;
        return false;
    };
    while (flags.next()) {
        const std::string_view arg = flags.name();
        if (arg == "-h" || arg == "--help") {
            help = true;
            return o;
        } else if (arg == "--host") {
            auto v = value();
            if (!v) return std::nullopt;
            if (v->empty()) return fail("--host must not be empty");
            o.http.host = *v;
        } else if (arg == "--port") {
            auto v = value();
            if (!v) return std::nullopt;
            if (!example::parse_number<std::uint16_t>(*v, o.http.port, 0, 65535))
                return fail("--port \"" + *v + "\" is not a port number (0-65535)");
        } else if (arg == "--threads") {
            auto v = value();
            if (!v) return std::nullopt;
            if (!example::parse_number<unsigned>(*v, o.http.threads, 1, 64))
                return fail("--threads \"" + *v + "\" must be an integer from 1 to 64");
        } else if (arg == "--idle-timeout") {
            auto v = value();
            if (!v) return std::nullopt;
            unsigned seconds = 0;
            if (!example::parse_number<unsigned>(*v, seconds, 1, 3600))
                return fail("--idle-timeout \"" + *v + "\" must be a number of seconds from 1 to 3600");
            o.http.idle_timeout = std::chrono::seconds(seconds);
        } else if (arg == "--data") {
            auto v = value();
            if (!v) return std::nullopt;
            if (v->empty()) return fail("--data must name a file");
            o.data = *v;
        } else if (arg == "--observer-db") {
            auto v = value();
            if (!v) return std::nullopt;
            if (v->empty()) return fail("--observer-db must name a file, sqlite:PATH, memory or postgresql://...");
            o.observer_db = *v;
            o.observer_db_given = true;
        } else if (arg == "--config") {
            auto v = value();
            if (!v) return std::nullopt;
            if (v->empty()) return fail("--config must name a JSON file");
            o.config_file = *v;
        } else if (arg == "--instance") {
            auto v = value();
            if (!v) return std::nullopt;
            if (v->empty()) return fail("--instance must not be empty");
            o.instance = *v;
        } else if (arg == "--token") {
            auto v = value();
            if (!v) return std::nullopt;
            if (v->empty()) return fail("--token must not be empty");
            o.dashboard.token = *v;
        } else if (arg == "--replay-live") {
            if (!flag_only()) return std::nullopt;
            o.dashboard.replay_live = true;
        } else if (arg == "--no-observer") {
            if (!flag_only()) return std::nullopt;
            o.observe = false;
        } else if (arg == "--strict-duplicates") {
            if (!flag_only()) return std::nullopt;
            o.strict_duplicates = true;
        } else {
            error.message = "unknown argument \"" + std::string(arg) + "\"";
            return std::nullopt;
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    FlagError flag_error;
    bool help = false;
    auto options = parse_flags(argc, argv, flag_error, help);
    if (help) {
        std::fputs(usage, stdout);
        return 0;
    }
    if (!options) {
        std::fprintf(stderr, "tether-example-server: %s (see --help)\n", flag_error.message.c_str());
        return 2;
    }

    std::unique_ptr<example::AppDb> db;
    try {
        db = std::make_unique<example::AppDb>(options->data);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tether-example-server: cannot open the application database \"%s\": %s\n",
                     options->data.c_str(), e.what());
        return 1;
    }

    tether::SystemClock clock;
    example::EngineOptions engine_options;
    engine_options.strict_duplicates = options->strict_duplicates;
    example::SyncEngine engine(std::move(db), example::ModelRegistry::standard(), engine_options, clock);
    engine.use_default_resolvers();

    // The observer replays captured pushes through the same engine (previews read its records).
    std::unique_ptr<tether::Observer> observer;
    if (options->observe) {
        std::string observer_url = options->observer_db;
        try {
            tether::Config config;
            if (!options->config_file.empty()) {
                try {
                    config = tether::Config::from_file(options->config_file);
                } catch (const tether::ConfigError& e) {
                    std::fprintf(stderr, "tether-example-server: --config: %s\n", e.what());
                    return 2;
                }
            }
            if (!options->instance.empty()) config.instance = options->instance;
            // --observer-db wins; else the config file's storage.url; else this server's default
            // (not the library's: a config file about redaction must not move the database).
            if (options->observer_db_given || !config_sets_storage_url(options->config_file))
                config.storage.url = options->observer_db;
            observer_url = config.storage.url;
            if (options->dashboard.replay_live) config.replay.live_enabled = true;
            observer = tether::Observer::builder()
                           .config(config)
                           .storage(tether::open_storage(config.storage))
                           .state_reader(std::make_shared<example::EngineStateReader>(engine))
                           .replay_target(std::make_shared<example::EngineReplayTarget>(engine))
                           .build();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "tether-example-server: cannot open the observer database \"%s\": %s\n",
                         without_password(observer_url).c_str(), e.what());
            return 1;
        }
    }

    example::HttpServer server(options->http, engine, observer ? &observer->recorder() : nullptr);
    std::unique_ptr<tether::beast::Dashboard> dashboard;
    if (observer) {
        tether::beast::DashboardOptions dashboard_options;
        if (!options->dashboard.token.empty()) {
            try {
                dashboard_options.middleware.push_back(tether::beast::bearer_token(options->dashboard.token));
            } catch (const std::invalid_argument& e) {
                std::fprintf(stderr, "tether-example-server: --token: %s\n", e.what());
                return 2;
            }
        }
        dashboard = std::make_unique<tether::beast::Dashboard>(*observer, std::move(dashboard_options));
        server.mount(*dashboard);
    }

    std::uint16_t port = 0;
    try {
        port = server.start();
    } catch (const std::exception& e) {
        // system_error::what() carries Boost's source location; the code's message is enough.
        const auto* se = dynamic_cast<const boost::system::system_error*>(&e);
        std::fprintf(stderr, "tether-example-server: cannot listen on %s:%u: %s\n", options->http.host.c_str(),
                     static_cast<unsigned>(options->http.port), se ? se->code().message().c_str() : e.what());
        return 1;
    }
    const bool v6 = options->http.host.find(':') != std::string::npos;
    std::fprintf(stderr, "tether-example-server: app db %s, observer %s%s\n", options->data.c_str(),
                 observer ? observer->storage().describe().c_str() : "off",
                 options->strict_duplicates ? ", strict duplicates" : "");
    std::printf("listening on http://%s%s%s:%u\n", v6 ? "[" : "", options->http.host.c_str(), v6 ? "]" : "",
                static_cast<unsigned>(port));
    if (dashboard)
        std::printf("dashboard at http://%s%s%s:%u%s/%s\n", v6 ? "[" : "", options->http.host.c_str(), v6 ? "]" : "",
                    static_cast<unsigned>(port), dashboard->prefix().c_str(),
                    options->dashboard.token.empty() ? "" : " (sign in with ?token=<your --token>)");
    std::fflush(stdout);

    server.run();
    dashboard.reset();  // before the observer it reads from

    if (observer) {
        auto& recorder = observer->recorder();
        if (!recorder.flush(std::chrono::seconds(10)))
            std::fprintf(stderr, "tether-example-server: the recorder did not drain within 10 s\n");
        const auto s = recorder.stats();
        std::fprintf(stderr,
                     "tether-example-server: recorded %llu exchanges (%llu written, %llu dropped); "
                     "observer CPU %.3f s processing, %.3f s storing\n",
                     static_cast<unsigned long long>(s.offered), static_cast<unsigned long long>(s.written),
                     static_cast<unsigned long long>(s.dropped), s.process_cpu_us / 1e6, s.store_cpu_us / 1e6);
        observer.reset();  // stops the writer thread
    }
    std::fprintf(stderr, "tether-example-server: stopped\n");
    return 0;
}
