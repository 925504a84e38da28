#pragma once
// Building the dashboard's responses: JSON bodies and errors, the security headers every
// response carries, and the error type handlers throw to answer with a status.
#include <boost/beast/http.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tether/beast/dashboard.hpp"

namespace tether::beast::detail {

namespace http = boost::beast::http;

/// Thrown by handlers to answer with `status` and `{"error": code, "message": …}`.
class HttpError : public std::runtime_error {
public:
    HttpError(http::status status, std::string code, const std::string& message, std::string parameter = {})
        : std::runtime_error(message), status_(status), code_(std::move(code)), parameter_(std::move(parameter)) {}
    http::status status() const noexcept { return status_; }
    const std::string& code() const noexcept { return code_; }
    const std::string& parameter() const noexcept { return parameter_; }
    /// Extra headers (e.g. Allow for 405, WWW-Authenticate for 401, Retry-After for 503).
    HttpError& with(http::field field, std::string value) {
        header_field_ = field;
        header_value_ = std::move(value);
        return *this;
    }
    http::field header_field() const noexcept { return header_field_; }
    const std::string& header_value() const noexcept { return header_value_; }

private:
    http::status status_;
    std::string code_;
    std::string parameter_;
    http::field header_field_ = http::field::unknown;
    std::string header_value_;
};

/// A response to `req` (version, keep-alive) with the security headers set.
Response make_response(const Request& req, http::status status, std::string_view content_type, std::string body);
Response json_response(const Request& req, http::status status, std::string body);
/// `{"error": code, "message": message[, "parameter": parameter]}`.
std::string error_body(std::string_view code, std::string_view message, std::string_view parameter = {});
Response error_response(const Request& req, const HttpError& error);

/// For HEAD: keep the headers of the GET answer (Content-Length included), drop the body.
void strip_body_for_head(Response& res);

}  // namespace tether::beast::detail
