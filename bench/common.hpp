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
