// The dashboard's query-string parser: tether::beast::detail::Query (adapters/beast/src/query.*).
//
// Input: a request target ("/path?a=1&b=2"); input not starting with '/' is appended to
// "/tether/dashboard/api/requests?".
//
// Properties: parsing and every accessor either answer or throw HttpError 400 (code
// invalid_target or invalid_parameter), nothing else; accessors respect their contracts
// (limit within 1..500, number within its bounds, an ISO time round-trips through
// format_iso8601); allow_only refuses exactly the parameters that are not listed.
#include "fuzz_common.hpp"
#include "http_util.hpp"
#include "query.hpp"
#include "tether/clock.hpp"
#include "tether/exchange.hpp"

using namespace tether;
using tether::beast::detail::HttpError;
using tether::beast::detail::Query;
namespace tf = tether::fuzz;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

const char* const names[] = {"kind",  "client_id", "model",  "outcome", "instance", "from",   "to",
                             "failed", "limit",    "cursor", "window",  "token",    "v",      "top",
                             "sort",  "stuck",     "reason", "resolution", "systematic", "fingerprint", "conflicted"};

void check_error(const HttpError& e) {
    FUZZ_CHECK(e.status() == http::status::bad_request, e.what());
    FUZZ_CHECK(e.code() == "invalid_parameter" || e.code() == "invalid_target", e.code());
    // The echoed name is printable ASCII, at most 64 characters.
    FUZZ_CHECK(e.parameter().size() <= 64);
    for (char c : e.parameter()) FUZZ_CHECK(c >= 0x20 && c < 0x7f, "unprintable parameter name echoed");
}

template <class F>
void guarded(F&& f) {
    try {
        f();
    } catch (const HttpError& e) {
        check_error(e);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string target(reinterpret_cast<const char*>(data), size);
    if (target.empty() || target[0] != '/') target = "/tether/dashboard/api/requests?" + target;

    std::optional<Query> parsed;
    try {
        parsed = Query::parse(target);
    } catch (const HttpError& e) {
        check_error(e);
        return 0;
    }
    const Query& q = *parsed;

    guarded([&] { q.allow_only({}); });
    guarded([&] { q.allow_only({"kind", "client_id", "limit", "cursor", "from", "to"}); });
    for (const char* name : names) {
        guarded([&] {
            const std::string t = q.text(name);
            FUZZ_CHECK(t.size() <= 256);
        });
        guarded([&] { (void)q.flag(name); });
        guarded([&] {
            if (auto t = q.time(name)) {
                // ISO text (not plain microseconds) must survive formatting and parsing again.
                const std::string raw = q.text(name, 64);
                if (parse_iso8601(raw)) {
                    const std::string iso = format_iso8601(*t);
                    if (iso.size() == 27 && iso[4] == '-') {
                        auto back = parse_iso8601(iso);
                        FUZZ_CHECK(back && *back == *t, raw + " -> " + iso);
                    }
                }
            }
        });
        guarded([&] {
            const long long n = q.number(name, 7, -5, 1000);
            FUZZ_CHECK(n >= -5 && n <= 1000);
        });
        guarded([&] {
            (void)q.choice(name, parse_exchange_kind, "push, pull");
        });
    }
    guarded([&] {
        const std::size_t limit = q.limit(50);
        FUZZ_CHECK(limit >= 1 && limit <= 500);
    });
    return 0;
}
