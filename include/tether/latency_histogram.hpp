#pragma once
// A mergeable latency histogram with bounded relative error (the DDSketch idea): values
// fall into logarithmic bins whose width is 2 % of their value, so any quantile read
// back is within 2 % of the true value at that rank, and two histograms merge by adding
// bin counts — which is what lets 5-minute rollups from many instances combine exactly.
#include <cstdint>
#include <utility>
#include <vector>
#include <string>
#include <string_view>

namespace tether {

class LatencyHistogram {
public:
    static constexpr double relative_accuracy = 0.02;

    /// Record `count` observations of `value_us` microseconds (values < 1 µs count as 0).
    void add(double value_us, std::uint64_t count = 1);
    void merge(const LatencyHistogram& other);

    std::uint64_t count() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }

    /// Value at rank floor(q * (count - 1)) of the sorted observations, within
    /// relative_accuracy; 0 when empty. `q` is clamped to [0, 1].
    double quantile_us(double q) const noexcept;

    /// Non-empty bins as (index, count), ascending; bin 0 holds values < 1 µs.
    std::vector<std::pair<std::int32_t, std::uint64_t>> bins() const;
    void add_bin(std::int32_t index, std::uint64_t count);

    /// Compact text form "index:count,index:count" (ascending) and back. decode() throws
    /// std::invalid_argument on malformed text.
    std::string encode() const;
    static LatencyHistogram decode(std::string_view text);

    /// The bin a value falls into, and the value reported for a bin.
    static std::int32_t bin_of(double value_us) noexcept;
    static double value_of(std::int32_t bin) noexcept;

    friend bool operator==(const LatencyHistogram& a, const LatencyHistogram& b) { return a.bins() == b.bins(); }

private:
    // Dense counts by bin index: merging thousands of rollups is a vector add, not a
    // map walk. A year in microseconds is bin ~900, so the vector stays small.
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
};

}  // namespace tether
