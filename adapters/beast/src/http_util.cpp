#include "http_util.hpp"

#include <boost/json.hpp>

namespace tether::detail {
// src/detail/json.hpp (tether_core): bytes that are not UTF-8 become the escape \ufffd.
void replace_invalid_utf8(std::string& json_text);
}  // namespace tether::detail

namespace tether::beast::detail {

namespace {

// The UI needs nothing but same-origin scripts, styles, fetch and EventSource; no inline
// script, no framing. Sent on every response so an API answer opened as a page is inert too.
constexpr const char* content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

}  // namespace

Response make_response(const Request& req, http::status status, std::string_view content_type, std::string body) {
    Response res{status, req.version()};
    res.set(http::field::content_type, content_type);
    res.set("Content-Security-Policy", content_security_policy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set(http::field::x_frame_options, "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    // JSON answers quote what the client sent (method, path, ids, parameters such as
    // `instance`) and may carry any bytes: keep them valid UTF-8, hence valid JSON (found by
    // fuzz/dashboard). A no-op scan for the usual, valid document.
    if (content_type.starts_with("application/json")) tether::detail::replace_invalid_utf8(body);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

Response json_response(const Request& req, http::status status, std::string body) {
    return make_response(req, status, "application/json", std::move(body));
}

std::string error_body(std::string_view code, std::string_view message, std::string_view parameter) {
    boost::json::object o;
    o["error"] = code;
    o["message"] = message;
    if (!parameter.empty()) o["parameter"] = parameter;
    return boost::json::serialize(o);
}

Response error_response(const Request& req, const HttpError& error) {
    auto res = json_response(req, error.status(), error_body(error.code(), error.what(), error.parameter()));
    if (error.header_field() != http::field::unknown) res.set(error.header_field(), error.header_value());
    return res;
}

void strip_body_for_head(Response& res) {
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
}

}  // namespace tether::beast::detail
