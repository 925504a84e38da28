#pragma once
// The newest-first keyset walk every in-memory list shares (requests, conflicts, failures):
// maps ordered by (started_at_us, id), the same order and cursors as the SQL backends.
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "tether/storage.hpp"

namespace tether::detail {

using Key = std::pair<Micros, std::string>;  ///< (started_at_us, id): the keyset order

// The newest-first keyset walk every list shares: start below the tighter of the cursor
// and `to`, stop at `from`, keep entries `accept` takes (built by `make`), and stop one
// entry past the page to know whether there is a next one.
template <class Map, class Accept, class Make>
auto keyset_page(const Map& map, const std::optional<Micros>& from, const std::optional<Micros>& to,
                 const PageRequest& page, Accept accept, Make make) {
    Page<std::decay_t<decltype(make(*map.begin()))>> out;
    auto it = map.end();
    auto below = [&](const Key& k) {
        auto b = map.lower_bound(k);
        if (it == map.end() || (b != map.end() && b->first < it->first)) it = b;
    };
    if (!page.cursor.empty()) {
        auto c = decode_cursor(page.cursor);
        below({c.primary, std::move(c.id)});
    }
    if (to) below({*to, std::string()});  // "" sorts before every id
    while (it != map.begin()) {
        --it;
        if (from && it->first.first < *from) break;
        if (!accept(*it)) continue;
        if (out.items.size() == page.limit) {
            const auto& last = out.items.back();
            out.next_cursor = encode_cursor({last.started_at_us, last.id});
            break;
        }
        out.items.push_back(make(*it));
    }
    return out;
}

}  // namespace tether::detail
