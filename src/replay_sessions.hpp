#pragma once
// The previews a ReplayEngine has handed out: each holds the one-time token a live replay
// must present and the totals of its push, so later pages of the same preview neither issue
// a new token nor walk the whole push again.
//
// A session has two random identifiers: the token (sent back with the POST; never in a URL)
// and the session id (carried by the preview's page cursors, which end up in URLs). Tokens
// are checked and consumed under one mutex, so of two concurrent replays presenting the
// same token exactly one consumes it.
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "tether/replay_engine.hpp"

namespace tether::detail {

/// Whole-push figures of one preview.
struct PreviewTotals {
    std::uint64_t total = 0;
    std::uint64_t replayable = 0;
    PredictedCounts counts;
    std::string not_replayable_reason;  ///< push-level; "" when the push can be replayed
};

class ReplaySessions {
public:
    /// At most this many sessions are kept; beyond, the one expiring first is forgotten
    /// (its token then reads as unknown).
    static constexpr std::size_t max_sessions = 4096;

    explicit ReplaySessions(Micros ttl_us);

    struct Session {
        std::string id;
        std::string token;
        std::string request_id;
        Micros expires_at_us = 0;
        std::optional<Micros> used_at_us;
        PreviewTotals totals;
    };

    /// A new session for `request_id` with fresh random identifiers.
    Session issue(const std::string& request_id, PreviewTotals totals, Micros now_us);

    /// The session a cursor names, while its token can still be used; nullopt when it is
    /// unknown, expired or used (the caller starts a new preview). Throws
    /// InvalidArgument("cursor") when it belongs to another request.
    std::optional<Session> resume(std::string_view session_id, std::string_view request_id, Micros now_us);

    /// Throws ReplayTokenRejected unless `token` is valid for `request_id` at `now_us`.
    void check(std::string_view token, std::string_view request_id, Micros now_us);
    /// check() and mark used, atomically.
    void consume(std::string_view token, std::string_view request_id, Micros now_us);

private:
    Session& usable(std::string_view token, std::string_view request_id, Micros now_us);  // mutex_ held
    std::string random_hex(std::size_t bytes);                                            // mutex_ held
    void forget_stale(Micros now_us);                                                     // mutex_ held

    const Micros ttl_us_;
    std::mutex mutex_;
    std::random_device random_;
    std::map<std::string, Session, std::less<>> by_token_;
    std::map<std::string, std::string, std::less<>> token_of_session_;
};

}  // namespace tether::detail
