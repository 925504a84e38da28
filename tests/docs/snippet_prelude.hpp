// What every `fragment` and `declarations` snippet of the documentation may take as given
// (tests/docs/README.md): the common includes, and a few names of "the host application" that
// the examples talk about without defining them. Only declared, never defined: snippets are
// compiled with -fsyntax-only, not linked.
//
// Keep this small: a snippet that needs more should say so itself.
#ifndef TETHER_SNIPPET_PRELUDE_HPP
#define TETHER_SNIPPET_PRELUDE_HPP
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/beast/auth.hpp"
#include "tether/beast/dashboard.hpp"
#include "tether/open_storage.hpp"
#include "tether/sqlite_storage.hpp"
#include "tether/tether.hpp"

namespace http = boost::beast::http;
namespace net = boost::asio;

// ---- tether objects the host created at startup --------------------------------------
extern std::unique_ptr<tether::Observer> observer;  // observer->recorder(), *observer …

// ---- a Boost.Beast host, inside its session -------------------------------------------
extern tether::beast::Request req;      // the request just read (body(), target(), headers)
extern boost::beast::tcp_stream stream;  // its connection
extern std::string token;                // the dashboard's token, from the host's own settings

// ---- what a push handler has at hand (README) -----------------------------------------
extern std::string response_json;  // the JSON the handler answers with
extern std::string mutation_id;    // one pushed mutation …
extern std::string before_json;    // … the record before it was applied ("null": none)
extern std::string after_json;     // … and after
extern std::string server_json;    // the server's record a conflicting write lost against

// ---- the host application's own code, in framework-neutral examples -------------------
// Its HTTP layer (docs/integration.md).
struct HttpRequest {
    std::string header(std::string_view name) const;
    const std::string& body() const;
};
struct HttpResponse {
    const std::string& body() const;
    int status() const;
};

// One record of its database, and the database (docs/replay.md).
struct AppRecord {
    std::string data_json;
    tether::Micros updated_at_us = 0;
    std::string to_json() const;
};
struct AppDb {
    std::optional<AppRecord> find(std::string_view model, std::string_view entity_id) const;
    bool was_applied(std::string_view mutation_id) const;
};
extern AppDb db;

// Its sync engine: the code behind POST /sync/push and /sync/pull, answering with the HTTP
// status, the response body and a trace per mutation (like examples/sync_server).
struct SyncResult {
    int status = 200;
    std::string body;
    std::vector<tether::MutationTrace> traces;
};
struct SyncEngine {
    SyncResult push(const std::string& body);
    SyncResult pull(const std::string& body);
};
extern SyncEngine engine;

// What the engine did with each mutation of the push being handled (docs/integration.md).
struct ProcessedMutation {
    std::string id;
    std::optional<AppRecord> before, after;
    bool conflict = false;
    std::string resolver_name;
    std::string server_state_json;
    std::string server_updated_at_iso;
};
extern std::vector<ProcessedMutation> processed;

#endif  // TETHER_SNIPPET_PRELUDE_HPP
