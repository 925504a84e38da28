#pragma once
// Who may see the dashboard. The host configures a chain of middleware; each looks at a
// request and allows it (with an identity), denies it, or passes it to the next one:
//
//     tether::beast::DashboardOptions options;
//     options.middleware = {tether::beast::bearer_token(std::getenv("TETHER_TOKEN")),
//                           tether::beast::basic_auth("ops", "s3cret")};
//
// The first `allow` wins and its identity is what handlers see (the replay audit records
// it). A `deny` answers at once (401 or 403). When every middleware passes, the answer is
// 401 with the challenges the middleware offered, or 403 when none offered one. With no
// middleware configured at all, only loopback clients are allowed (loopback_only()).
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tether::beast {

/// An authenticated caller, as established by the middleware that allowed the request.
struct Identity {
    std::string method;  ///< "bearer", "basic", "loopback", or the name given to a predicate
    std::string name;    ///< the token's label, the user, the client address…
    /// Allowed by the sign-in link's `?token=` (GET only): the page answers by storing that
    /// very token in the cookie. Never set for a header or cookie credential, so a link
    /// carrying junk next to a valid credential cannot overwrite (log out) the cookie.
    bool sign_in_link = false;
    /// "basic:ops", "bearer:token": what the replay audit stores as `by`.
    std::string to_string() const { return name.empty() ? method : method + ":" + name; }
};

/// What middleware sees of one request.
struct RequestView {
    const boost::beast::http::request<boost::beast::http::string_body>& message;
    boost::asio::ip::address remote;  ///< the peer address the host accepted
};

/// A middleware's decision. Build it with the static helpers.
struct AuthDecision {
    enum class Verdict { allow, deny, pass };
    Verdict verdict = Verdict::pass;
    Identity identity;      ///< allow: who
    unsigned status = 403;  ///< deny: 401 or 403
    std::string challenge;  ///< WWW-Authenticate value offered (deny 401, or pass)
    std::string message;    ///< deny: why, shown to the caller (never echo a credential)

    static AuthDecision allow(Identity who) { return {Verdict::allow, std::move(who), 0, {}, {}}; }
    static AuthDecision pass(std::string challenge = {}) { return {Verdict::pass, {}, 0, std::move(challenge), {}}; }
    static AuthDecision unauthorized(std::string challenge, std::string message) {
        return {Verdict::deny, {}, 401, std::move(challenge), std::move(message)};
    }
    static AuthDecision forbidden(std::string message) { return {Verdict::deny, {}, 403, {}, std::move(message)}; }
};

/// One link of the chain. Called on the host's I/O thread; must be quick and thread-safe.
using Middleware = std::function<AuthDecision(const RequestView&)>;

/// Name of the HttpOnly cookie that carries a bearer token for browsers.
inline constexpr std::string_view token_cookie = "tether_token";

/// A shared secret, compared in constant time, presented as `Authorization: Bearer <token>`
/// (API clients, Prometheus), or by browsers as the `tether_token` cookie, which the
/// sign-in link `GET {prefix}/?token=<token>` (percent-encoded like any query value) sets
/// (HttpOnly, SameSite=Lax) before redirecting to the dashboard. A wrong header or link
/// token is a 401; a wrong cookie (an old token after rotation) passes like no credential,
/// so later middleware (e.g. basic_auth) still gets its say and offers its challenge.
/// `label` names the identity. Throws std::invalid_argument for an empty token or one with
/// characters outside printable ASCII, space, '"', ',', ';' or '\\'.
Middleware bearer_token(std::string token, std::string label = "token");

/// `Authorization: Basic …` for one user, compared in constant time. Wrong credentials
/// are a 401; missing ones pass (offering the Basic challenge with `realm`).
/// Throws std::invalid_argument for an empty user or password.
Middleware basic_auth(std::string user, std::string password, std::string realm = "tether dashboard");

/// Custom rule: return an identity to allow, nullopt to deny with 403 (e.g. an IP
/// allow-list, or a session cookie the host already validates).
Middleware predicate(std::function<std::optional<Identity>(const RequestView&)> rule);

/// Allows clients connecting from a loopback address (127.0.0.0/8, ::1, ::ffff:127.x) that
/// name a loopback host: `Host` must be `localhost`, `*.localhost`, a loopback IP or one of
/// `extra_hosts` (names without port, compared case-insensitively). That refuses (403) DNS
/// rebinding, where a web page re-points its own name at 127.0.0.1 to read the API from the
/// user's browser. Other peers pass. The default chain is just loopback_only(), then a 403.
/// Behind a reverse proxy on the same machine every client connects from loopback: configure
/// real authentication there instead.
Middleware loopback_only(std::vector<std::string> extra_hosts = {});

/// Equality of a presented credential and a secret whose running time depends only on the
/// length of `presented` (it reveals neither the secret's bytes nor its length).
bool constant_time_equals(std::string_view presented, std::string_view secret) noexcept;

}  // namespace tether::beast
