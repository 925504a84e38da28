#include "storage/keys.hpp"

#include <charconv>
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

std::int64_t client_cursor_seq(const CursorKey& key) {
    std::int64_t seq = -1;
    const char* end = key.id.data() + key.id.size();
    auto [p, ec] = std::from_chars(key.id.data(), end, seq);
    if (ec != std::errc() || p != end || seq < 0 || (key.id.size() > 1 && key.id[0] == '0'))
        throw InvalidArgument("cursor", "is not a client list cursor; expected a next_cursor of the client list");
    return seq;
}

}  // namespace detail
}  // namespace tether
