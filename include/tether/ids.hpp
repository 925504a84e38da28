#pragma once
// Identifier generation. Request and mutation rows get ULIDs: 26 Crockford base32
// characters, lexicographically sortable by creation time.
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "tether/clock.hpp"

namespace tether {

class IdGenerator {
public:
    virtual ~IdGenerator() = default;
    /// A new unique id. Must be callable from any thread.
    virtual std::string next() = 0;
};

/// ULID generator. Ids created within the same millisecond are strictly increasing
/// (the random part is incremented), so ordering by id never reorders a burst.
class UlidGenerator final : public IdGenerator {
public:
    /// `clock` must outlive the generator.
    explicit UlidGenerator(const Clock& clock, std::uint64_t seed = std::random_device{}());
    std::string next() override;

private:
    const Clock& clock_;
    std::mutex mutex_;
    std::mt19937_64 rng_;
    std::uint64_t last_ms_ = 0;
    std::uint16_t rand_hi_ = 0;  // 80 random bits: 16 high + 64 low
    std::uint64_t rand_lo_ = 0;
};

/// True when `s` is a syntactically valid ULID (26 Crockford base32 chars, first <= '7').
bool is_valid_ulid(std::string_view s) noexcept;

/// Encode a 48-bit millisecond time and 80 random bits as a ULID.
std::string encode_ulid(std::uint64_t ms, std::uint16_t rand_hi, std::uint64_t rand_lo);

}  // namespace tether
