#pragma once
// The writer thread's work on one exchange: parse the protocol, redact, diff, classify.
// Tolerant by construction: whatever the bodies contain, process() returns a record
// (irregularities become notes and flags) and never throws.
#include <cstddef>
#include <memory>

#include "tether/config.hpp"
#include "tether/exchange.hpp"
#include "tether/ids.hpp"
#include "tether/records.hpp"
#include "tether/redactor.hpp"

namespace tether::detail {

struct PipelineOptions {
    InvalidBodyPolicy invalid_body = InvalidBodyPolicy::keep_scrubbed;
    std::string default_instance = "default";
    std::size_t max_mutations = 20'000;  ///< RecorderConfig::max_mutations_per_request
    bool keep_pull_payloads = false;     ///< RecorderConfig::pull_payloads == full
};

class Pipeline {
public:
    Pipeline(const Redactor& redactor, IdGenerator& ids, const Clock& clock, PipelineOptions options);
    CapturedRequest process(Exchange&& exchange) noexcept;

private:
    const Redactor& redactor_;
    IdGenerator& ids_;
    const Clock& clock_;
    PipelineOptions options_;
    // First block of every exchange's parse arena: typical documents never touch malloc, and
    // the writer thread stops churning the allocator the host's threads share.
    static constexpr std::size_t scratch_bytes = 256 * 1024;
    std::unique_ptr<unsigned char[]> scratch_;
};

}  // namespace tether::detail
