#include "common.hpp"

#include <cstdlib>
#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace tether::bench {

Exchange make_push(std::size_t mutations, std::uint64_t seed) {
    static const char* models[] = {"Task", "Project", "Note"};
    static const char* digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    auto ulid = [&](std::uint64_t n) {
        std::string s = "01JD3Z6Q8Y";
        for (int i = 0; i < 16; ++i, n /= 32) s += digits[n % 32];
        return s;
    };
    std::string req = R"({"client_id":"c-)" + std::to_string(seed % 97) + R"(","mutations":[)";
    std::string resp = R"({"applied":[)";
    for (std::size_t i = 0; i < mutations; ++i) {
        std::string id = ulid(seed * 1000 + i);
        if (i) {
            req += ',';
            resp += ',';
        }
        req += R"({"mutation_id":")" + id + R"(","entity_id":")" + ulid(seed * 7919 + i) + R"(","model":")" +
               models[i % 3] + R"(","operation":"update","payload":{"title":"Write the quarterly report for item )" +
               std::to_string(i) +
               R"(","description":"Collect the numbers from every team, check them twice and send the summary to finance before Friday.","done":false,"priority":3,"tags":["work","q4","reports"],"due_at":"2026-12-01T17:00:00Z"},"version":)" +
               std::to_string(i + 1) + R"(,"timestamp":1732500000123})";
        resp += '"' + id + '"';
    }
    req += "]}";
    resp += R"(],"rejected":[],"conflicts":[]})";
    Exchange ex;
    ex.kind = ExchangeKind::push;
    ex.client_version = "2.4.0";
    ex.duration_us = 1800;
    ex.http_status = 200;
    ex.request_body = std::move(req);
    ex.response_body = std::move(resp);
    ex.headers = {{"X-Tether-Client-Version", "2.4.0"}, {"Authorization", "Bearer abc"}};
    return ex;
}

double percentile(std::vector<double>& samples, double p) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    auto idx = static_cast<std::size_t>(p / 100.0 * static_cast<double>(samples.size() - 1) + 0.5);
    return samples[std::min(idx, samples.size() - 1)];
}

ScratchDir::ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = tmp && *tmp ? tmp : "/tmp";
    path_ = base + "/tether-bench-XXXXXX";
    if (!mkdtemp(path_.data())) std::abort();
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace tether::bench

namespace tether::bench {

namespace {
// "<prefix><n zero-padded to width>": unique, sortable, cursor-safe ids.
std::string padded(const char* prefix, std::size_t n, std::size_t width) {
    std::string digits = std::to_string(n);
    return prefix + std::string(width > digits.size() ? width - digits.size() : 0, '0') + digits;
}
}  // namespace

void fill_store(Storage& storage, const TelemetryAggregator& telemetry, std::size_t requests, std::size_t mutations,
                Micros now_us) {
    static const char* models[] = {"Task", "Project", "Note", "Tag", "Comment"};
    const Micros span = 24LL * 3600 * 1'000'000 - 1;
    const std::size_t batch_size = 500;
    std::vector<CapturedRequest> batch;
    for (std::size_t i = 0; i < requests; ++i) {
        CapturedRequest c;
        auto& r = c.request;
        r.id = padded("01R", i, 23);
        r.kind = i % 4 == 3 ? ExchangeKind::pull : ExchangeKind::push;
        r.client_id = "c-" + std::to_string(i % 50);
        r.client_version = "2.4.0";
        r.instance = "default";
        r.started_at_us = now_us - span + static_cast<Micros>(static_cast<double>(span) * static_cast<double>(i) / static_cast<double>(requests));
        r.duration_us = 500 + static_cast<Micros>((i * 7919) % 40'000);
        r.http_status = 200;
        r.request_body = R"({"client_id":")" + r.client_id + R"(","mutations":[]})";
        r.response_body = R"({"applied":[],"rejected":[],"conflicts":[]})";
        if (r.kind == ExchangeKind::push) {
            for (std::size_t m = 0; m < mutations; ++m) {
                MutationRecord mr;
                const std::string id = padded("01M", i * 1000 + m, 23);
                mr.id = id;
                mr.seq = static_cast<std::uint32_t>(m);
                mr.client_id = r.client_id;
                mr.instance = r.instance;
                mr.started_at_us = r.started_at_us;
                mr.mutation_id = id;
                mr.entity_id = id;
                mr.model = models[(i + m) % 5];
                mr.operation = "update";
                mr.payload_json = R"({"title":"Item","done":false})";
                mr.outcome = MutationOutcome::applied;
                if (i % 10 == 0 && m == 0) {
                    // Several failure groups: reasons, field sets and models vary.
                    static const char* reasons[] = {"validation_failed", "validation_failed", "not_found",
                                                    "duplicate", "quota_exceeded"};
                    const std::size_t k = (i / 10) % 5;
                    mr.model = models[(i / 50) % 5];
                    mr.outcome = MutationOutcome::rejected;
                    mr.reason = reasons[k];
                    if (k == 0) mr.validation_json = R"({"title":["The title field is required."]})";
                    if (k == 1)
                        mr.validation_json =
                            R"({"title":["The title field is required."],"due_at":["The due at is not a date."]})";
                }
                if (i % 7 == 0 && m == 1) {
                    mr.outcome = MutationOutcome::conflict;
                    ConflictInfo conflict;
                    conflict.reason = "conflict";
                    conflict.resolver = "last_write_wins";
                    conflict.resolution = Resolution::server_wins;
                    conflict.server_state_json = R"({"title":"Server","done":true})";
                    conflict.reported_by_host = conflict.reported_in_response = true;
                    conflict.fields = {{"/title", ChangeOp::changed, R"("Server")", R"("Item")"}};
                    mr.conflict = std::move(conflict);
                }
                r.applied += mr.outcome == MutationOutcome::applied;
                r.rejected += mr.outcome == MutationOutcome::rejected;
                r.conflicts += mr.conflict.has_value();
                r.models.push_back(mr.model);
                c.mutations.push_back(std::move(mr));
            }
            std::sort(r.models.begin(), r.models.end());
            r.models.erase(std::unique(r.models.begin(), r.models.end()), r.models.end());
        } else {
            r.snapshots = 20;
        }
        r.mutation_count = static_cast<std::uint32_t>(c.mutations.size());
        r.outcome = r.rejected ? RequestOutcome::rejected : r.conflicts ? RequestOutcome::conflict : RequestOutcome::ok;
        if (i % 1000 == 999) {  // the odd server error
            r.http_status = 500;
            r.outcome = RequestOutcome::error;
        }
        batch.push_back(std::move(c));
        if (batch.size() == batch_size || i + 1 == requests) {
            storage.write_batch(batch, telemetry.rollup(batch));
            batch.clear();
        }
    }
}

std::size_t requests_flag(int argc, char** argv, std::size_t fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--requests") return static_cast<std::size_t>(std::stoull(argv[i + 1]));
    return fallback;
}

}  // namespace tether::bench
