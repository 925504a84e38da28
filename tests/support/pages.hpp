#pragma once
// Walking a keyset-paginated list to its end in tests, checking the page contract on the way:
// no page is longer than the limit, and only the last page may be shorter.
#include <catch2/catch.hpp>

#include <functional>

#include "tether/storage.hpp"

namespace tether::test {

/// Every item of a list: `fetch(page)` returns one Page; `between_pages` (optional) runs after
/// each page but the last (writes in between must not break the walk).
template <class Fetch>
auto walk_pages(Fetch fetch, std::size_t limit, const std::function<void()>& between_pages = {}) {
    decltype(fetch(PageRequest{}).items) all;
    PageRequest p;
    p.limit = limit;
    for (int guard = 0; guard < 100000; ++guard) {
        auto page = fetch(p);
        REQUIRE(page.items.size() <= limit);
        if (!page.next_cursor.empty()) REQUIRE(page.items.size() == limit);
        all.insert(all.end(), page.items.begin(), page.items.end());
        if (page.next_cursor.empty()) break;
        p.cursor = page.next_cursor;
        if (between_pages) between_pages();
    }
    return all;
}

}  // namespace tether::test
