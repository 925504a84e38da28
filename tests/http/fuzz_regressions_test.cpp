// Bugs fuzz/dashboard found (fuzz/README.md), one test each; the inputs themselves are
// replayed by scripts/fuzz from fuzz/regressions/dashboard/.
#include <catch2/catch.hpp>

#include "http_support.hpp"
#include "tether/observer.hpp"

using namespace tether;
using tether::test::get;
namespace http = boost::beast::http;

namespace {

// The body parses as JSON (Boost.JSON refuses text that is not UTF-8).
bool parses(const beast::Response& res) {
    boost::system::error_code ec;
    boost::json::parse(res.body(), ec);
    return !ec;
}

}  // namespace

// fuzz/regressions/dashboard/*: JSON answers quoted raw request bytes (a method, a decoded id,
// the `instance` parameter), so a byte that is not UTF-8 made the whole answer invalid JSON.
TEST_CASE("fuzz regression: JSON answers stay valid UTF-8 whatever bytes the request quotes", "[http][fuzz]") {
    auto observer = Observer::builder().build();
    beast::Dashboard dashboard(*observer);

    beast::Request req;
    req.version(11);
    req.method_string("GE\xC9T");
    req.target("/tether/dashboard/nowhere");
    req.set(http::field::host, "127.0.0.1:8080");
    auto res = dashboard.handle(req, boost::asio::ip::make_address("127.0.0.1"));
    REQUIRE(res);
    CHECK(res->result() == http::status::not_found);
    CHECK(parses(*res));
    CHECK(res->body().find("\\ufffd") != std::string::npos);

    auto id = get(dashboard, "/tether/dashboard/api/requests/%C9%28");
    CHECK(id.result() == http::status::not_found);
    CHECK(parses(id));

    auto metrics = get(dashboard, "/tether/dashboard/metrics?window=1h&instance=de%FF");
    CHECK(metrics.result() == http::status::ok);
    CHECK(parses(metrics));
    CHECK(metrics[http::field::content_length] == std::to_string(metrics.body().size()));

    // Valid UTF-8 is left as it is.
    auto accented = get(dashboard, "/tether/dashboard/metrics?instance=%C3%A9t%C3%A9");
    CHECK(parses(accented));
    CHECK(accented.body().find("\xC3\xA9t\xC3\xA9") != std::string::npos);
}

// fuzz/regressions/dashboard/conflict-patterns-default-from-overflows: without `from`, the
// patterns start a day before `to`; `to` at the most negative microsecond count overflowed
// (undefined behaviour; in practice a wrapped `from` after `to` and a bogus 400).
TEST_CASE("fuzz regression: conflict patterns accept any 'to' without 'from'", "[http][fuzz]") {
    auto observer = Observer::builder().build();
    beast::Dashboard dashboard(*observer);
    auto res = get(dashboard, "/tether/dashboard/api/conflicts/patterns?to=-9223372036854775808");
    CHECK(res.result() == http::status::ok);
    CHECK(parses(res));
    auto late = get(dashboard, "/tether/dashboard/api/conflicts/patterns?to=9223372036854775807");
    CHECK(late.result() == http::status::ok);
}
