#include "storage/keys.hpp"

#include <cstdint>

#include "tether/errors.hpp"

namespace tether {
namespace detail {

bool is_pageable_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '-'))
            return false;
    return true;
}

void check_batch_ids(const std::vector<CapturedRequest>& batch, std::string_view backend) {
    for (const auto& c : batch) {
        if (!is_pageable_id(c.request.id))
            throw StorageError(std::string(backend) + ": request id must be 1-64 characters of [0-9A-Za-z_-]", false);
        for (const auto& m : c.mutations)
            if (!is_pageable_id(m.id))
                throw StorageError(std::string(backend) + ": mutation id must be 1-64 characters of [0-9A-Za-z_-]",
                                   false);
    }
}

void check_rollups(const RollupBatch& rollups, std::string_view backend) {
    const std::string b(backend);
    for (const auto& r : rollups.items) {
        if (r.width_us <= 0) throw StorageError(b + ": rollup width_us must be positive", false);
        if (r.start_us % r.width_us != 0) throw StorageError(b + ": rollup start_us must be a multiple of width_us", false);
        if (r.start_us > INT64_MAX - r.width_us) throw StorageError(b + ": rollup start_us + width_us overflows", false);
    }
}

NewestFirstBounds newest_first_bounds(const std::optional<Micros>& to_us, const PageRequest& page) {
    NewestFirstBounds b;
    std::optional<CursorKey> c;
    if (!page.cursor.empty()) c = decode_cursor(page.cursor);
    if (to_us && !(c && c->primary < *to_us)) b.before_us = *to_us;
    if (c && !(to_us && *to_us <= c->primary)) b.after = std::move(c);
    return b;
}

}  // namespace detail
}  // namespace tether
