#include "tether/beast/auth.hpp"

#include <boost/beast/core/detail/base64.hpp>
#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "query.hpp"

namespace tether::beast {

namespace http = boost::beast::http;

namespace {

// The credentials of `Authorization: <scheme> <credentials>` when the scheme matches
// (case-insensitively), else nullopt.
std::optional<std::string_view> credentials(const RequestView& req, std::string_view scheme) {
    auto it = req.message.find(http::field::authorization);
    if (it == req.message.end()) return std::nullopt;
    std::string_view value(it->value().data(), it->value().size());
    if (value.size() <= scheme.size() || value[scheme.size()] != ' ') return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(value[i])) != std::tolower(static_cast<unsigned char>(scheme[i])))
            return std::nullopt;
    value.remove_prefix(scheme.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    return value;
}

// The value of cookie `name`, if sent.
std::optional<std::string_view> cookie(const RequestView& req, std::string_view name) {
    for (auto it = req.message.find(http::field::cookie); it != req.message.end() && it->name() == http::field::cookie;
         ++it) {
        std::string_view all(it->value().data(), it->value().size());
        while (!all.empty()) {
            const auto end = all.find(';');
            auto pair = all.substr(0, end);
            while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
            if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
                return pair.substr(name.size() + 1);
            if (end == std::string_view::npos) break;
            all.remove_prefix(end + 1);
        }
    }
    return std::nullopt;
}

// `token=` of the sign-in link, decoded exactly as the page's handler decodes it (the cookie
// it sets must hold the value verified here). A query that does not parse carries no token;
// the route answers it with a 400 anyway.
std::optional<std::string> query_token(const RequestView& req) {
    try {
        auto token = detail::Query::parse(req.message.target()).text("token", 1024);
        if (!token.empty()) return token;
    } catch (...) {
    }
    return std::nullopt;
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The host name of a Host header without its port ("[::1]:8080" -> "::1"), lowercased.
std::string host_name(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        return lowercase(host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    }
    const auto colon = host.rfind(':');
    if (colon != std::string_view::npos && host.find(':') == colon) host = host.substr(0, colon);
    return lowercase(host);
}

bool is_loopback_name(const std::string& name) {
    if (name == "localhost" || (name.size() > 10 && name.compare(name.size() - 10, 10, ".localhost") == 0))
        return true;  // RFC 6761: always resolves to loopback
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(name, ec);
    return !ec && ip.is_loopback();
}

std::string decode_base64(std::string_view in) {
    namespace b64 = boost::beast::detail::base64;
    // Beast's decoder stops at the first '=' without counting it: strip the padding first,
    // then require every other character to have been consumed.
    if (in.size() % 4 != 0) return {};
    std::string_view data = in;
    for (int i = 0; i < 2 && !data.empty() && data.back() == '='; ++i) data.remove_suffix(1);
    std::string out(b64::decoded_size(data.size()) + 1, '\0');
    auto [written, read] = b64::decode(out.data(), data.data(), data.size());
    if (read != data.size()) return {};  // not base64: treated as wrong credentials
    out.resize(written);
    return out;
}

}  // namespace

bool constant_time_equals(std::string_view presented, std::string_view secret) noexcept {
    // Walk the presented value only, folding every byte difference and the length
    // difference into one accumulator: no early exit, no dependence on the secret's length.
    unsigned char diff = presented.size() == secret.size() ? 0 : 1;
    const std::size_t n = secret.size();
    for (std::size_t i = 0; i < presented.size(); ++i) {
        const unsigned char s = n ? static_cast<unsigned char>(secret[i % n]) : 0;
        diff |= static_cast<unsigned char>(static_cast<unsigned char>(presented[i]) ^ s);
    }
    return diff == 0 && n != 0;
}

Middleware bearer_token(std::string token, std::string label) {
    if (token.empty()) throw std::invalid_argument("bearer_token: the token must not be empty");
    for (unsigned char c : token)
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            throw std::invalid_argument(
                "bearer_token: the token may only contain printable ASCII without space, '\"', ',', ';' or '\\'");
    return [token = std::move(token), label = std::move(label)](const RequestView& req) {
        const std::string challenge = "Bearer realm=\"tether dashboard\"";
        const auto invalid = [&] {
            return AuthDecision::unauthorized(challenge + ", error=\"invalid_token\"", "the bearer token is not valid");
        };
        if (auto header = credentials(req, "Bearer"))
            return constant_time_equals(*header, token) ? AuthDecision::allow({"bearer", label}) : invalid();
        // A sign-in link's token is the one checked, even when an older cookie is sent too.
        if (req.message.method() == http::verb::get)
            if (auto link = query_token(req)) {
                if (!constant_time_equals(*link, token)) return invalid();
                return AuthDecision::allow({"bearer", label, true});
            }
        if (auto stored = cookie(req, token_cookie); stored && constant_time_equals(*stored, token))
            return AuthDecision::allow({"bearer", label});
        // No credential, or a stale cookie (the token was rotated): let the chain go on.
        return AuthDecision::pass(challenge);
    };
}

Middleware basic_auth(std::string user, std::string password, std::string realm) {
    if (user.empty() || password.empty())
        throw std::invalid_argument("basic_auth: user and password must not be empty");
    if (user.find(':') != std::string::npos) throw std::invalid_argument("basic_auth: the user must not contain ':'");
    return [expected = user + ":" + password, user, realm = std::move(realm)](const RequestView& req) {
        const std::string challenge = "Basic realm=\"" + realm + "\", charset=\"UTF-8\"";
        auto presented = credentials(req, "Basic");
        if (!presented) return AuthDecision::pass(challenge);
        if (!constant_time_equals(decode_base64(*presented), expected))
            return AuthDecision::unauthorized(challenge, "the user name or password is not valid");
        return AuthDecision::allow({"basic", user});
    };
}

Middleware predicate(std::function<std::optional<Identity>(const RequestView&)> rule) {
    if (!rule) throw std::invalid_argument("predicate: the rule must be callable");
    return [rule = std::move(rule)](const RequestView& req) {
        if (auto who = rule(req)) return AuthDecision::allow(std::move(*who));
        return AuthDecision::forbidden("this client is not allowed to see the dashboard");
    };
}

Middleware loopback_only(std::vector<std::string> extra_hosts) {
    for (auto& h : extra_hosts) h = lowercase(h);
    return [extra_hosts = std::move(extra_hosts)](const RequestView& req) {
        auto addr = req.remote;
        if (addr.is_v6() && addr.to_v6().is_v4_mapped())
            addr = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6());
        if (!addr.is_loopback()) return AuthDecision::pass();
        const auto header = req.message[http::field::host];
        const std::string name = host_name(std::string_view(header.data(), header.size()));
        // No Host at all is an HTTP/1.0 tool, never a browser: nothing to rebind.
        const bool named_loopback = header.empty() || is_loopback_name(name) ||
                                    std::find(extra_hosts.begin(), extra_hosts.end(), name) != extra_hosts.end();
        if (!named_loopback)
            return AuthDecision::forbidden("a loopback client asked for host '" + name.substr(0, 100) +
                                           "', which is not a loopback name (refused against DNS rebinding; "
                                           "list the name in loopback_only() or configure authentication)");
        return AuthDecision::allow({"loopback", addr.to_string()});
    };
}

}  // namespace tether::beast
