#include "common.hpp"

#include <cstdlib>
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
