// tether-example-server fed by tether-fleet (fixed seed and request count): every number the
// dashboard API shows must equal what the fleet says it sent and what the server answered.
//
// What each side counts (examples/fleet/README.md, "Summary"; docs/telemetry.md):
// - requests / pushes / pulls: every exchange, the fleet's setup push and its malformed
//   requests included; the server records each one before answering, so nothing is missed.
// - mutations: the elements of a push body's `mutations` array as sent, whatever the answer
//   (a push refused with 422 for a mutation without `model` still carried that mutation; the
//   dashboard stores it under model ""); a body that is not JSON or has no array carries none.
// - applied / rejected: entries of the server's `applied` / `rejected` lists.
// - conflicts: the fleet sees the server's `conflicts` list (resolution server_wins); the
//   dashboard also counts conflicts the host reported through its trace that ended applied
//   (the Note field merge): dashboard conflicts = fleet conflicts + merged conflicts.
// - per client: the dashboard attributes a request to the client_id in its body; the fleet
//   counts the requests whose body names no readable client_id as `unattributed`.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "e2e/e2e_support.hpp"
#include "support/temp_dir.hpp"

using namespace tether::e2e;

namespace {

constexpr const char* instance = "e2e";

std::uint64_t num(const json::value& doc, std::string_view key) {
    return count_at(doc, "/" + std::string(key));
}

std::string api(std::string_view route, std::string_view query = {}) {
    std::string target = std::string(dashboard_prefix) + "/api/" + std::string(route) + "?instance=" + instance;
    if (!query.empty()) target += "&" + std::string(query);
    return target;
}

std::map<std::string, std::uint64_t> by_key(const std::vector<json::object>& items, std::string_view key) {
    std::map<std::string, std::uint64_t> out;
    for (const auto& item : items) ++out[std::string(item.at(key).as_string())];
    return out;
}

std::uint64_t get_or_zero(const std::map<std::string, std::uint64_t>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("the dashboard's numbers equal tether-fleet's summary exactly") {
    tether::test::TempDir dir;
    ExampleServer server(dir.path().string(), {"--instance", instance});

    const std::string summary_path = dir.file("summary.json");
    // Seed 7 with 1000 requests makes every kind of request the fleet knows, each several
    // times (checked below); four workers so that requests really overlap.
    Process fleet(fleet_binary, {"--url", server.url(), "--requests", "1000", "--seed", "7", "--concurrency", "4",
                                 "--clients", "40", "--summary-json", summary_path});
    const auto fleet_status = fleet.wait(std::chrono::seconds(120));
    INFO(fleet.describe());
    REQUIRE(fleet_status == 0);
    const json::value summary = json::parse(read_file(summary_path));
    INFO("fleet summary: " << json::serialize(summary));

    // Every request got an answer (a request without one may or may not have reached the
    // server, and could not be compared), and the run exercised what is compared below.
    REQUIRE(num(summary, "transport_errors") == 0);
    REQUIRE(num(summary, "requests") == 1001);  // --requests plus the setup push
    CHECK(num(summary, "conflicts") > 0);
    CHECK(num(summary, "resent") > 0);
    CHECK(num(summary, "unattributed") > 0);                          // pushes without client_id
    CHECK(summary.at("http_statuses").as_object().contains("400"));   // truncated JSON
    CHECK(summary.at("http_statuses").as_object().contains("422"));   // the other malformed requests
    CHECK(summary.at("by_model").as_object().contains(""));           // mutations without model
    for (const char* reason : {"validation_failed", "not_found", "error"})
        CHECK(summary.at("rejected_by_reason").as_object().contains(reason));

    // All offered exchanges written, none dropped: only then are the numbers final.
    const json::value metrics = server.await_recorded(num(summary, "requests"), instance);
    INFO("dashboard metrics: " << brief(metrics));
    REQUIRE(count_at(metrics, "/recorder/dropped") == 0);
    REQUIRE(count_at(metrics, "/recorder/written") == num(summary, "requests"));
    REQUIRE(count_at(metrics, "/recorder/offered") == num(summary, "requests"));

    // Conflicts by resolution, as the dashboard lists them.
    const auto conflicts = get_all(server.port(), api("conflicts"));
    const auto server_wins = get_all(server.port(), api("conflicts", "resolution=server_wins"));
    const auto merged = get_all(server.port(), api("conflicts", "resolution=merged"));
    const auto merged_by_model = by_key(merged, "model");
    const auto merged_by_client = by_key(merged, "client_id");
    CHECK(!merged.empty());  // the Note merge ran: the case only the dashboard can see
    // A merge answers `applied`, so only the host's trace says when the server record changed.
    for (const auto& c : merged) CHECK(c.at("server_updated_at").is_string());
    CHECK(merged_by_model.size() == 1);
    CHECK(get_or_zero(merged_by_model, "Note") == merged.size());

    // Plain blocks rather than SECTIONs: Catch would rerun the whole fleet run for each.
    {  // totals
        const json::value& t = metrics.at("throughput");
        CHECK(num(t, "requests") == num(summary, "requests"));
        CHECK(num(t, "pushes") == num(summary, "pushes"));
        CHECK(num(t, "pulls") == num(summary, "pulls"));
        CHECK(num(t, "snapshots") == num(summary, "snapshots"));
        CHECK(num(t, "mutations") == num(summary, "mutations"));
        CHECK(num(t, "applied") == num(summary, "applied"));
        CHECK(num(t, "rejected") == num(summary, "rejected"));
        CHECK(server_wins.size() == num(summary, "conflicts"));
        CHECK(num(t, "conflicts") == num(summary, "conflicts") + merged.size());
        CHECK(conflicts.size() == num(t, "conflicts"));
    }

    {  // per model
        std::map<std::string, json::object> dashboard;
        for (const auto& m : metrics.at("top_models").as_array())
            dashboard[std::string(m.at("model").as_string())] = m.as_object();
        const auto& fleet_models = summary.at("by_model").as_object();
        CHECK(dashboard.size() == fleet_models.size());
        for (const auto& [name, counts] : fleet_models) {
            const std::string model(name);
            INFO("model \"" << model << "\"");
            REQUIRE(dashboard.count(model) == 1);
            const json::value d = dashboard[model];
            CHECK(num(d, "mutations") == num(counts, "mutations"));
            CHECK(num(d, "failures") == num(counts, "rejected"));
            CHECK(num(d, "conflicts") == num(counts, "conflicts") + get_or_zero(merged_by_model, model));
        }
    }

    {  // rejections by reason
        const auto all = get_all(server.port(), api("failures", "kind=mutation"));
        CHECK(all.size() == num(summary, "rejected"));
        const auto dashboard = by_key(all, "reason");
        const auto& fleet_reasons = summary.at("rejected_by_reason").as_object();
        CHECK(dashboard.size() == fleet_reasons.size());
        for (const auto& [reason, n] : fleet_reasons) {
            INFO("reason " << std::string(reason));
            CHECK(get_or_zero(dashboard, std::string(reason)) == n.to_number<std::uint64_t>());
        }
    }

    {  // HTTP errors
        // The fleet's malformed requests: 400 for truncated JSON, 422 for the rest.
        const auto errors = get_all(server.port(), api("requests", "outcome=error"));
        CHECK(errors.size() == num(summary, "http_errors"));
        CHECK(get_all(server.port(), api("failures", "kind=request")).size() == num(summary, "http_errors"));
        std::map<std::string, std::uint64_t> statuses;
        for (const auto& r : errors) ++statuses[std::to_string(r.at("http_status").to_number<int>())];
        std::uint64_t ok = num(summary, "requests") - errors.size();
        for (const auto& [status, n] : summary.at("http_statuses").as_object()) {
            INFO("HTTP " << std::string(status));
            if (status == "200")
                CHECK(n.to_number<std::uint64_t>() == ok);
            else
                CHECK(get_or_zero(statuses, std::string(status)) == n.to_number<std::uint64_t>());
        }
    }

    {  // per client
        const auto& fleet_clients = summary.at("by_client").as_object();
        // The dashboard knows exactly the clients the fleet ran (plus nobody: requests
        // without a readable client_id are not attributed).
        const auto listed = get_all(server.port(), std::string(dashboard_prefix) + "/api/clients");
        CHECK(listed.size() == fleet_clients.size());
        std::uint64_t attributed = 0;
        for (const auto& c : listed) attributed += num(c, "requests");
        CHECK(attributed == num(summary, "requests") - num(summary, "unattributed"));

        for (const auto& [id, counts] : fleet_clients) {
            INFO("client " << std::string(id) << ": " << json::serialize(counts));
            const auto client =
                get_json(server.port(), std::string(dashboard_prefix) + "/api/clients/" + std::string(id));
            CHECK(num(client, "requests") == num(counts, "requests") - num(counts, "unattributed"));
            CHECK(num(client, "mutations") == num(counts, "mutations"));
            std::uint64_t mutations = 0, failures = 0, conflicted = 0;
            for (const auto& m : client.at("models").as_array()) {
                mutations += num(m, "mutations");
                failures += num(m, "failures");
                conflicted += num(m, "conflicts");
            }
            CHECK(mutations == num(counts, "mutations"));
            CHECK(failures == num(counts, "rejected"));
            CHECK(conflicted == num(counts, "conflicts") + get_or_zero(merged_by_client, std::string(id)));
        }
    }

    // SIGTERM: clean shutdown (in-flight requests finished, recorder flushed), status 0.
    const auto status = server.terminate();
    INFO(server.process().describe());
    CHECK(status == 0);
}
