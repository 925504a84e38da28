#pragma once
// Time source. Every timestamp the library produces comes from a Clock so that tests
// can drive time by hand. Times are integer microseconds since the Unix epoch, UTC.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tether {

using Micros = std::int64_t;  ///< microseconds since 1970-01-01T00:00:00Z

class Clock {
public:
    virtual ~Clock() = default;
    /// Current wall-clock time. Must be callable from any thread.
    virtual Micros now_us() const noexcept = 0;
    /// Monotonic time for measuring durations (arbitrary origin).
    virtual Micros steady_us() const noexcept = 0;
};

/// The real clock (std::chrono::system_clock / steady_clock).
class SystemClock final : public Clock {
public:
    Micros now_us() const noexcept override;
    Micros steady_us() const noexcept override;
};

/// A clock that only moves when told to; both readings advance together.
class ManualClock final : public Clock {
public:
    explicit ManualClock(Micros start_us = 1'700'000'000'000'000) noexcept : now_(start_us) {}
    Micros now_us() const noexcept override { return now_.load(); }
    Micros steady_us() const noexcept override { return now_.load(); }
    void set(Micros t) noexcept { now_.store(t); }
    void advance(Micros delta) noexcept { now_.fetch_add(delta); }

private:
    std::atomic<Micros> now_;
};

/// "2026-11-24T10:00:00.000123Z" for a microsecond timestamp.
std::string format_iso8601(Micros t);

/// The inverse, for times people type: "2026-11-24T10:05Z", "2026-11-24T10:05:00Z",
/// "2026-11-24T10:05:00.123456Z", "2026-11-24T11:05:00+01:00" (a space may replace the
/// "T"; up to 6 fraction digits; an offset or "Z" is required so the instant is never
/// ambiguous). nullopt for anything else, including impossible dates.
std::optional<Micros> parse_iso8601(std::string_view text) noexcept;

}  // namespace tether
