#include "tether/ids.hpp"

namespace tether {
namespace {
constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

UlidGenerator::UlidGenerator(const Clock& clock, std::uint64_t seed) : clock_(clock), rng_(seed) {}

std::string UlidGenerator::next() {
    std::uint64_t ms = static_cast<std::uint64_t>(clock_.now_us() / 1000) & ((1ull << 48) - 1);
    std::lock_guard<std::mutex> lock(mutex_);
    if (ms <= last_ms_) {
        // Same millisecond (or the clock stepped back): keep the old time and increment the
        // 80-bit random part so ids stay strictly increasing.
        ms = last_ms_;
        if (++rand_lo_ == 0 && ++rand_hi_ == 0) {
            ++ms;  // 2^80 ids in one millisecond: borrow the next one
            last_ms_ = ms;
        }
    } else {
        last_ms_ = ms;
        rand_lo_ = rng_();
        // Leave headroom so a burst never overflows into the time part.
        rand_hi_ = static_cast<std::uint16_t>(rng_() & 0x7fff);
    }
    return encode_ulid(ms, rand_hi_, rand_lo_);
}

std::string encode_ulid(std::uint64_t ms, std::uint16_t rand_hi, std::uint64_t rand_lo) {
    std::string out(26, '0');
    // 48-bit time → 10 chars (the first carries only 3 bits).
    for (int i = 9; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = crockford[ms & 31];
        ms >>= 5;
    }
    // 80-bit randomness → 16 chars, from the least significant end.
    std::uint64_t lo = rand_lo;
    std::uint64_t hi = rand_hi;
    for (int i = 25; i >= 10; --i) {
        out[static_cast<std::size_t>(i)] = crockford[lo & 31];
        lo = (lo >> 5) | ((hi & 31) << 59);
        hi >>= 5;
    }
    return out;
}

bool is_valid_ulid(std::string_view s) noexcept {
    if (s.size() != 26 || s[0] > '7') return false;
    for (char c : s) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
        if (!ok) return false;
    }
    return true;
}

}  // namespace tether
