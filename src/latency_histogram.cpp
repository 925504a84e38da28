#include "tether/latency_histogram.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace tether {
namespace {
// gamma = (1 + a) / (1 - a): reporting 2·gamma^i / (gamma + 1) for bin i keeps every
// value of (gamma^(i-1), gamma^i] within relative accuracy a.
const double gamma_ = (1 + LatencyHistogram::relative_accuracy) / (1 - LatencyHistogram::relative_accuracy);
const double log_gamma = std::log(gamma_);
// ~1.2e17 µs (almost 4000 years): anything larger is clamped into the last bin.
constexpr std::int32_t max_bin = 1000;
}  // namespace

std::int32_t LatencyHistogram::bin_of(double value_us) noexcept {
    if (!(value_us >= 1.0)) return 0;  // also catches NaN
    double idx = std::ceil(std::log(value_us) / log_gamma);
    return static_cast<std::int32_t>(std::clamp(idx, 1.0, static_cast<double>(max_bin)));
}

double LatencyHistogram::value_of(std::int32_t bin) noexcept {
    if (bin <= 0) return 0.0;
    return 2.0 * std::pow(gamma_, bin) / (gamma_ + 1.0);
}

void LatencyHistogram::add(double value_us, std::uint64_t count) { add_bin(bin_of(value_us), count); }

void LatencyHistogram::add_bin(std::int32_t index, std::uint64_t count) {
    if (count == 0) return;
    auto i = static_cast<std::size_t>(std::clamp(index, 0, max_bin));
    if (counts_.size() <= i) counts_.resize(i + 1, 0);
    counts_[i] += count;
    count_ += count;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    if (counts_.size() < other.counts_.size()) counts_.resize(other.counts_.size(), 0);
    for (std::size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
}

std::vector<std::pair<std::int32_t, std::uint64_t>> LatencyHistogram::bins() const {
    std::vector<std::pair<std::int32_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < counts_.size(); ++i)
        if (counts_[i]) out.emplace_back(static_cast<std::int32_t>(i), counts_[i]);
    return out;
}

double LatencyHistogram::quantile_us(double q) const noexcept {
    if (count_ == 0) return 0.0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<std::uint64_t>(std::floor(q * static_cast<double>(count_ - 1)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen > rank) return value_of(static_cast<std::int32_t>(i));
    }
    return value_of(static_cast<std::int32_t>(counts_.size() - 1));
}

std::string LatencyHistogram::encode() const {
    std::string out;
    for (const auto& [bin, n] : bins()) {
        if (!out.empty()) out += ',';
        out += std::to_string(bin);
        out += ':';
        out += std::to_string(n);
    }
    return out;
}

LatencyHistogram LatencyHistogram::decode(std::string_view text) {
    LatencyHistogram h;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        std::int32_t bin = 0;
        std::uint64_t n = 0;
        auto r1 = std::from_chars(p, end, bin);
        if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != ':')
            throw std::invalid_argument("latency histogram: expected 'bin:count' at byte " + std::to_string(p - text.data()));
        auto r2 = std::from_chars(r1.ptr + 1, end, n);
        if (r2.ec != std::errc() || (r2.ptr != end && *r2.ptr != ','))
            throw std::invalid_argument("latency histogram: expected a count at byte " +
                                        std::to_string(r1.ptr + 1 - text.data()));
        h.add_bin(bin, n);
        p = r2.ptr == end ? end : r2.ptr + 1;
    }
    return h;
}

}  // namespace tether
