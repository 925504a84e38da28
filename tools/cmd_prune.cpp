// tether prune: delete requests older than a duration, or count them (--dry-run).
#include "cli.hpp"
#include "format.hpp"

namespace tether::cli {

namespace {

constexpr std::size_t batch = 500;  // requests per short transaction, as retention does

std::string requests_text(std::uint64_t n) { return std::to_string(n) + (n == 1 ? " request" : " requests"); }

}  // namespace

int run_prune(Context& c) {
    c.no_positional();
    if (!c.args().has("--older-than"))
        throw UsageError("--older-than is required: --older-than DURATION (45s, 30m, 12h, 7d, 2w)");
    const std::string age_text = c.text("--older-than");
    const Micros age = parse_duration("--older-than", age_text);
    const bool dry_run = c.flag("--dry-run");
    Storage& storage = c.storage();
    const Micros now = c.now();
    const Micros cutoff = now - age;
    std::ostream& out = c.out();

    if (dry_run) {
        // Exactly the rows prune() would take: started_at < now - age (the list's `to` is exclusive).
        RequestFilter filter;
        filter.to_us = cutoff;
        PageRequest page;
        page.limit = PageRequest::max_limit;
        std::uint64_t n = 0;
        do {
            auto result = storage.list_requests(filter, page);
            n += result.items.size();
            page.cursor = std::move(result.next_cursor);
        } while (!page.cursor.empty());
        out << "would delete " << requests_text(n) << " (with their mutations) that started before "
            << short_time(cutoff) << " (older than " << age_text << "); nothing was deleted (--dry-run)\n";
        return exit_ok;
    }

    RetentionPolicy policy;
    policy.max_age_us = age;
    std::uint64_t deleted = 0;
    for (;;) {
        const std::size_t n = storage.prune(policy, now, batch);
        deleted += n;
        if (n < batch) break;
    }
    out << "deleted " << requests_text(deleted) << " (with their mutations) that started before " << short_time(cutoff)
        << " (older than " << age_text << ")\n";
    return exit_ok;
}

}  // namespace tether::cli
