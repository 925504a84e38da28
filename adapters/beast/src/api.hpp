#pragma once
// The routes of the dashboard that answer with data: {prefix}/metrics, /metrics/prometheus
// and the JSON API under {prefix}/api. A table maps path patterns and methods to handlers;
// handlers turn validated query parameters into core queries and return the core's JSON
// documents. They throw HttpError (404 unknown id, 400 bad parameter) or the core's
// InvalidArgument (400), which the router turns into JSON errors.
#include <boost/beast/http/verb.hpp>
#include <string>
#include <vector>

#include "metrics_cache.hpp"
#include "query.hpp"
#include "tether/beast/dashboard.hpp"

namespace tether::beast::detail {

/// Path segments after the prefix, percent-decoded: {"api", "requests", "01J…"}.
using Segments = std::vector<std::string>;

/// Everything one handler call needs, and what it may set besides the body.
struct Call {
    Observer& observer;
    MetricsCache& metrics;
    const Request& request;
    const Query& query;
    const Identity& identity;
    Segments args;  ///< the wildcard segments of the pattern, in order
    boost::beast::http::status status = boost::beast::http::status::ok;
    std::string content_type = "application/json";
};

using Handler = std::string (*)(Call& call);

struct RouteMatch {
    bool path_known = false;  ///< some route has this path (else 404)
    Handler handler = nullptr;  ///< null with path_known: wrong method (405)
    std::string allow;        ///< the methods the path supports, for 405's Allow header
    Segments args;
};

/// Finds the handler for `method` (HEAD is served by GET handlers) and `segments`.
RouteMatch match_route(boost::beast::http::verb method, const Segments& segments);

}  // namespace tether::beast::detail
