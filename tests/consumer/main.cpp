// A program built against an installed tether (find_package(tether)): records one push into
// a SQLite file, flushes, reads it back through a second Observer on the same file, and —
// when tether::beast was found — asks the dashboard for the page and the request list. With
// tether::postgres it links libpqxx too (no server needed: it only checks open_storage()'s list).
// Exit status 0 when every check passes, 1 otherwise (each failed check is printed).
//
//   tether_consumer DB_FILE
#include <cstdio>
#include <exception>
#include <string>

#include <tether/observer.hpp>
#include <tether/open_storage.hpp>
#include <tether/version.hpp>
#ifdef CONSUMER_WITH_BEAST
#include <tether/beast/dashboard.hpp>
#endif

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok) ++failures;
}

constexpr const char* push_body = R"({"client_id":"consumer-client","mutations":[
  {"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S01","entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5SA1","model":"Task",
   "operation":"create","payload":{"title":"Buy milk","password":"hunter2"},"version":1,"timestamp":1732500000123},
  {"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S02","entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5SA2","model":"Project",
   "operation":"create","payload":{"name":"Home"},"version":1,"timestamp":1732500000124}]})";
constexpr const char* push_response =
    R"({"applied":["01JD3Z6Q8Y9V4K2M1N0P7R5S01","01JD3Z6Q8Y9V4K2M1N0P7R5S02"],"rejected":[],"conflicts":[]})";

tether::Config config_for(const std::string& db) {
    tether::Config config;
    config.instance = "consumer";
    config.storage.url = "sqlite:" + db;
    return config;
}

std::string record_one_push(const std::string& db) {
    const tether::Config config = config_for(db);
    auto observer = tether::Observer::builder().config(config).storage(tether::open_storage(config.storage)).build();
    {
        tether::RequestScope scope(observer->recorder(), tether::ExchangeKind::push);
        scope->client_version = "1.0.0";
        scope->request_body = push_body;
        scope->response_body = push_response;
        scope->http_status = 200;
    }
    check(observer->recorder().flush(), "flush() returns once the exchange is settled");
    const auto stats = observer->recorder().stats();
    check(stats.offered == 1 && stats.written == 1 && stats.dropped == 0,
          "recorder stats: offered 1, written 1, dropped 0 (got offered " + std::to_string(stats.offered) +
              ", written " + std::to_string(stats.written) + ", dropped " + std::to_string(stats.dropped) + ")");
    auto page = observer->storage().list_requests({}, {});
    return page.items.empty() ? std::string() : page.items.front().id;
}

void read_back(const std::string& db, const std::string& id) {
    const tether::Config config = config_for(db);
    auto observer = tether::Observer::builder().config(config).storage(tether::open_storage(config.storage)).build();
    auto& storage = observer->storage();
    check(storage.count_requests() == 1, "the reopened file holds 1 request");
    check(storage.count_mutations() == 2, "… and 2 mutations");
    const auto request = storage.get_request(id);
    check(request.has_value(), "get_request(" + id + ") finds the request");
    if (!request) return;
    check(request->kind == tether::ExchangeKind::push, "kind push");
    check(request->client_id == "consumer-client", "client id taken from the body");
    check(request->client_version == "1.0.0", "client version as recorded");
    check(request->instance == "consumer", "instance from the config");
    check(request->outcome == tether::RequestOutcome::ok, "outcome ok");
    check(request->applied == 2 && request->mutation_count == 2, "2 mutations, both applied");
    check(request->request_body.find("hunter2") == std::string::npos, "the password was redacted before storage");
    const auto mutations = storage.list_mutations(id, {}, {});
    check(mutations.items.size() == 2 && mutations.items[0].model == "Task" &&
              mutations.items[0].outcome == tether::MutationOutcome::applied,
          "list_mutations: Task create applied first");

#ifdef CONSUMER_WITH_BEAST
    tether::beast::Dashboard dashboard(*observer);  // loopback clients only
    const auto loopback = boost::asio::ip::make_address("127.0.0.1");
    auto get = [&](const std::string& target) {
        tether::beast::Request req{boost::beast::http::verb::get, target, 11};
        req.set(boost::beast::http::field::host, "localhost");
        return dashboard.handle(req, loopback);
    };
    const auto page = get("/tether/dashboard/");
    check(page && page->result_int() == 200 && page->body().find("<html") != std::string::npos,
          "dashboard: GET /tether/dashboard/ serves the embedded page");
    const auto list = get("/tether/dashboard/api/requests");
    check(list && list->result_int() == 200 && list->body().find(id) != std::string::npos,
          "dashboard: GET /tether/dashboard/api/requests lists the request");
    check(!get("/elsewhere").has_value(), "dashboard: other paths are the host's");
#endif
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: tether_consumer DB_FILE\n");
        return 2;
    }
    const std::string db = argv[1];
    std::printf("tether %s, storage backends: %s\n", TETHER_VERSION_STRING, tether::storage_backends_built().c_str());
#ifdef CONSUMER_WITH_POSTGRES
    check(tether::storage_backends_built() == "memory, sqlite, postgresql", "open_storage() offers PostgreSQL too");
#else
    check(tether::storage_backends_built() == "memory, sqlite", "open_storage() offers memory and SQLite");
#endif
    try {
        std::remove(db.c_str());
        const std::string id = record_one_push(db);
        check(!id.empty(), "the push was stored (id " + id + ")");
        if (!id.empty()) read_back(db, id);
    } catch (const std::exception& e) {
        std::printf("FAIL exception: %s\n", e.what());
        return 1;
    }
    std::printf("%s\n", failures ? "consumer: FAILED" : "consumer: all checks passed");
    return failures ? 1 : 0;
}
