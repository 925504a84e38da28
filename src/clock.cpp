#include "tether/clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace tether {

Micros SystemClock::now_us() const noexcept {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

Micros SystemClock::steady_us() const noexcept {
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string format_iso8601(Micros t) {
    // Floor division so times before 1970 still format correctly.
    std::int64_t secs = t / 1'000'000;
    std::int64_t frac = t % 1'000'000;
    if (frac < 0) {
        frac += 1'000'000;
        --secs;
    }
    std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[96];  // generous: the compiler cannot bound tm_year
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
    return buf;
}

}  // namespace tether
