#include "replay_sessions.hpp"

#include <algorithm>

#include "tether/errors.hpp"

namespace tether::detail {
namespace {

// 64-bit session ids in cursors, 128-bit tokens: neither can be guessed.
constexpr std::size_t session_id_bytes = 8;
constexpr std::size_t token_bytes = 16;

std::string reload_hint(std::string_view request_id) {
    return "; load the replay preview of request " + std::string(request_id) + " again for a new token";
}

}  // namespace

ReplaySessions::ReplaySessions(Micros ttl_us) : ttl_us_(ttl_us) {}

std::string ReplaySessions::random_hex(std::size_t bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    while (out.size() < bytes * 2) {
        auto word = random_();  // 32 random bits from the OS
        for (int i = 0; i < 8 && out.size() < bytes * 2; ++i, word >>= 4) out.push_back(digits[word & 15]);
    }
    return out;
}

void ReplaySessions::forget_stale(Micros now_us) {
    // Expired sessions stay for one more TTL so that a late POST hears "expired", not "unknown".
    for (auto it = by_token_.begin(); it != by_token_.end();) {
        if (it->second.expires_at_us + ttl_us_ < now_us) {
            token_of_session_.erase(it->second.id);
            it = by_token_.erase(it);
        } else {
            ++it;
        }
    }
    while (by_token_.size() >= max_sessions) {
        auto first = std::min_element(by_token_.begin(), by_token_.end(), [](const auto& a, const auto& b) {
            return a.second.expires_at_us < b.second.expires_at_us;
        });
        token_of_session_.erase(first->second.id);
        by_token_.erase(first);
    }
}

ReplaySessions::Session ReplaySessions::issue(const std::string& request_id, PreviewTotals totals, Micros now_us) {
    std::lock_guard<std::mutex> lock(mutex_);
    forget_stale(now_us);
    Session s;
    do {
        s.id = random_hex(session_id_bytes);
    } while (token_of_session_.count(s.id));
    do {
        s.token = random_hex(token_bytes);
    } while (by_token_.count(s.token));
    s.request_id = request_id;
    s.expires_at_us = now_us + ttl_us_;
    s.totals = std::move(totals);
    token_of_session_.emplace(s.id, s.token);
    by_token_.emplace(s.token, s);
    return s;
}

std::optional<ReplaySessions::Session> ReplaySessions::resume(std::string_view session_id, std::string_view request_id,
                                                              Micros now_us) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto t = token_of_session_.find(session_id);
    if (t == token_of_session_.end()) return std::nullopt;
    const Session& s = by_token_.at(t->second);
    if (s.request_id != request_id)
        throw InvalidArgument("cursor", "belongs to the replay preview of request " + s.request_id + ", not " +
                                            std::string(request_id) + "; expected a next_cursor of this preview");
    if (s.used_at_us || now_us >= s.expires_at_us) return std::nullopt;
    return s;
}

ReplaySessions::Session& ReplaySessions::usable(std::string_view token, std::string_view request_id, Micros now_us) {
    using Reason = ReplayTokenRejected::Reason;
    if (token.empty())
        throw ReplayTokenRejected(Reason::missing, "live replay of request " + std::string(request_id) +
                                                       ": no token was sent; expected the token of its replay preview");
    auto it = by_token_.find(token);
    if (it == by_token_.end())
        throw ReplayTokenRejected(Reason::unknown,
                                  "live replay of request " + std::string(request_id) +
                                      ": the token is unknown (never issued here, forgotten after a restart, or "
                                      "expired long ago)" +
                                      reload_hint(request_id));
    Session& s = it->second;
    if (s.request_id != request_id)
        throw ReplayTokenRejected(Reason::other_request, "live replay of request " + std::string(request_id) +
                                                             ": the token was issued for the preview of request " +
                                                             s.request_id + reload_hint(request_id));
    if (s.used_at_us)
        throw ReplayTokenRejected(Reason::used, "live replay of request " + std::string(request_id) +
                                                    ": the token was already used at " + format_iso8601(*s.used_at_us) +
                                                    "; a token replays once" + reload_hint(request_id));
    if (now_us >= s.expires_at_us)
        throw ReplayTokenRejected(Reason::expired,
                                  "live replay of request " + std::string(request_id) + ": the token expired at " +
                                      format_iso8601(s.expires_at_us) + " (replay.token_ttl_seconds = " +
                                      std::to_string(ttl_us_ / 1'000'000) + ")" + reload_hint(request_id));
    return s;
}

void ReplaySessions::check(std::string_view token, std::string_view request_id, Micros now_us) {
    std::lock_guard<std::mutex> lock(mutex_);
    usable(token, request_id, now_us);
}

void ReplaySessions::consume(std::string_view token, std::string_view request_id, Micros now_us) {
    std::lock_guard<std::mutex> lock(mutex_);
    usable(token, request_id, now_us).used_at_us = now_us;
}

}  // namespace tether::detail
