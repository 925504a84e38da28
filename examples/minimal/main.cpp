// The smallest useful embedding: build an Observer on a SQLite file, hand it the raw
// push/pull exchanges a sync handler sees, then read back what was stored.
//
//   tether-minimal [DB_FILE]      (default tether-demo.db)
#include <cstdio>
#include <string>

#include "tether/observer.hpp"
#include "tether/sqlite_storage.hpp"

namespace {

// What a real handler would do: time the request, capture bodies, status and the
// resolver's decision for each conflicting mutation.
void handle_push(tether::Recorder& recorder, std::string body, std::string response, int status,
                 std::vector<tether::MutationTrace> traces = {}) {
    tether::RequestScope scope(recorder, tether::ExchangeKind::push);
    scope->headers = {{"X-Tether-Client-Version", "2.4.0"}, {"Authorization", "Bearer demo-secret-token"}};
    scope->request_body = std::move(body);
    scope->response_body = std::move(response);
    scope->http_status = status;
    scope->traces = std::move(traces);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string path = argc > 1 ? argv[1] : "tether-demo.db";
    if (path == "-h" || path == "--help") {
        std::puts("usage: tether-minimal [DB_FILE]\nRecords sample pushes and pulls into DB_FILE (default tether-demo.db).");
        return 0;
    }
    tether::Config config;
    config.instance = "demo";
    auto observer = tether::Observer::builder().config(config).storage(tether::open_sqlite_storage({path})).build();
    auto& rec = observer->recorder();

    // Applied: two creates.
    handle_push(rec,
                R"({"client_id":"c-7f3a","mutations":[
        {"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S01","entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5SA1","model":"Task","operation":"create","payload":{"title":"Buy milk","done":false},"version":1,"timestamp":1732500000123},
        {"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S02","entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5SA2","model":"Project","operation":"create","payload":{"name":"Home"},"version":1,"timestamp":1732500000124}]})",
                R"({"applied":["01JD3Z6Q8Y9V4K2M1N0P7R5S01","01JD3Z6Q8Y9V4K2M1N0P7R5S02"],"rejected":[],"conflicts":[]})", 200,
                {{"01JD3Z6Q8Y9V4K2M1N0P7R5S01", "null", R"({"title":"Buy milk","done":false,"updated_at":"2026-11-25T09:00:00Z"})", std::nullopt}});
    // Rejected: validation failure with field messages; the payload carries a secret.
    handle_push(rec,
                R"({"client_id":"c-19bd","mutations":[
        {"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S03","entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5SA3","model":"Task","operation":"update","payload":{"title":"","api_token":"sk-live-123"},"version":4,"timestamp":1732500000200}]})",
                R"({"applied":[],"rejected":[{"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S03","reason":"validation_failed","data":{"messages":{"title":["The title field is required."]}}}],"conflicts":[]})",
                200);
    // Conflict: stale update, last-write-wins keeps the server's version.
    handle_push(rec,
                R"({"client_id":"c-7f3a","mutations":[
        {"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S04","entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5SA1","model":"Task","operation":"update","payload":{"title":"Buy oat milk","done":false},"version":2,"timestamp":1732400000000}]})",
                R"({"applied":[],"rejected":[],"conflicts":[{"mutation_id":"01JD3Z6Q8Y9V4K2M1N0P7R5S04","reason":"conflict","data":{"server_state":{"title":"Buy milk","done":true},"server_updated_at":"2026-11-25T09:00:00.000000Z"}}]})",
                200,
                {{"01JD3Z6Q8Y9V4K2M1N0P7R5S04", R"({"title":"Buy milk","done":true})", R"({"title":"Buy milk","done":true})",
                  tether::ConflictTrace{"last_write_wins", tether::Resolution::server_wins, R"({"title":"Buy milk","done":true})",
                                        "client timestamp older than updated_at"}}});
    // Invalid JSON: still captured, flagged with the parse position.
    handle_push(rec, R"({"client_id":"c-broken","mutations":[{"mutation_id": )", R"({"error":"invalid_json"})", 400);
    // A pull.
    {
        tether::RequestScope scope(rec, tether::ExchangeKind::pull);
        scope->request_body = R"({"client_id":"c-7f3a","last_sync_cursor":null,"limit":500})";
        scope->response_body =
            R"({"snapshots":[{"entity_id":"01JD3Z6Q8Y9V4K2M1N0P7R5SA1","model":"Task","operation":"upsert","payload":{"title":"Buy milk","done":true}}],"new_sync_cursor":1732500000999999,"has_more":false})";
    }

    rec.flush();
    auto& storage = observer->storage();
    std::printf("Stored in %s: %llu requests, %llu mutations\n\n", path.c_str(),
                static_cast<unsigned long long>(storage.count_requests()),
                static_cast<unsigned long long>(storage.count_mutations()));
    std::printf("%-26s  %-4s  %-9s  %-8s  %4s  %s\n", "request", "kind", "client", "outcome", "muts", "details");
    tether::PageRequest page;
    page.limit = 10;
    for (const auto& r : storage.list_requests({}, page).items) {
        auto full = storage.get_request(r.id);
        std::string details = "applied " + std::to_string(r.applied) + ", rejected " + std::to_string(r.rejected) +
                              ", conflicts " + std::to_string(r.conflicts) + ", snapshots " + std::to_string(r.snapshots);
        if (full && full->request_parse_error)
            details = "invalid JSON at line " + std::to_string(full->request_parse_error->line) + ", column " +
                      std::to_string(full->request_parse_error->column) + ": " + full->request_parse_error->message;
        if (full && !full->redacted_paths.empty()) details += "; redacted " + std::to_string(full->redacted_paths.size()) + " value(s)";
        std::printf("%-26s  %-4s  %-9s  %-8s  %4u  %s\n", r.id.c_str(), tether::to_string(r.kind), r.client_id.c_str(),
                    tether::to_string(r.outcome), r.mutation_count, details.c_str());
        for (const auto& m : storage.list_mutations(r.id, {}, {}).items) {
            auto mut = storage.get_mutation(m.id);
            std::printf("    %-7s %-8s -> %-8s %s payload=%s\n", m.model.c_str(), m.operation.c_str(),
                        tether::to_string(m.outcome), m.reason.c_str(), mut ? mut->payload_json.c_str() : "");
            if (mut && mut->conflict)
                std::printf("            conflict: resolver=%s server_state=%s\n", mut->conflict->resolver.c_str(),
                            mut->conflict->server_state_json.c_str());
        }
    }
    // Telemetry and conflicts come from rollups and counters written with each batch.
    auto m = observer->metrics(tether::MetricsWindow::h24);
    std::printf("\nlast 24 h: %llu requests, %llu mutations, conflict rate %.1f %%, failure rate %.1f %%, p95 %.2f ms\n",
                static_cast<unsigned long long>(m.throughput.requests),
                static_cast<unsigned long long>(m.throughput.mutations), m.conflict_rate, m.failure_rate,
                m.latency.p95_ms);
    for (const auto& c : observer->conflicts().list({}, page).items) {
        std::string fields;
        for (const auto& f : c.fields) fields += (fields.empty() ? "" : ", ") + f.path + ": " + f.from + " -> " + f.to;
        std::printf("conflict on %s %s (client %s): %s\n", c.model.c_str(), c.entity_id.c_str(), c.client_id.c_str(),
                    fields.c_str());
    }
    // Failures grouped by model + reason + failing fields, with the sentence that explains each group.
    for (const auto& g : observer->failures().groups({}))
        std::printf("failure group %s (%llu): %s\n", g.fingerprint.c_str(), static_cast<unsigned long long>(g.count),
                    g.explanation.c_str());
    auto s = rec.stats();
    std::printf("\nrecorder: offered %llu, written %llu, dropped %llu\n", static_cast<unsigned long long>(s.offered),
                static_cast<unsigned long long>(s.written), static_cast<unsigned long long>(s.dropped));
    return 0;
}
