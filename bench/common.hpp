#pragma once
// Shared by the benchmarks: realistic push bodies and small statistics helpers.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tether/exchange.hpp"

namespace tether::bench {

/// A push of `mutations` mutations (≈400 bytes each) and its all-applied response.
Exchange make_push(std::size_t mutations, std::uint64_t seed);

/// Percentile (0..100) of unsorted samples; sorts in place.
double percentile(std::vector<double>& samples, double p);

/// A fresh scratch directory under $TMPDIR, removed by the destructor.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

}  // namespace tether::bench

#include <memory>

#include "tether/storage.hpp"
#include "tether/telemetry_aggregator.hpp"

namespace tether::bench {

/// Fills `storage` through the batch API with `requests` pushes of `mutations` mutations
/// each, spread evenly over the 24 h before `now_us`, 50 clients, rollups included.
/// Every 10th request has a rejected mutation (25 failure groups: 5 reasons × 5 models),
/// every 1000th is an HTTP 500, every 7th has a conflict. Client ids are "c-0".."c-49".
void fill_store(Storage& storage, const TelemetryAggregator& telemetry, std::size_t requests, std::size_t mutations,
                Micros now_us);

/// `--requests N` from argv, or `fallback`.
std::size_t requests_flag(int argc, char** argv, std::size_t fallback);

}  // namespace tether::bench
