#pragma once
// Time source. Every timestamp the library produces comes from a Clock so that tests
// can drive time by hand. Times are integer microseconds since the Unix epoch, UTC.
#include <atomic>
#include <cstdint>
#include <string>

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

}  // namespace tether
