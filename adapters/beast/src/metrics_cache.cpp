#include "metrics_cache.hpp"

#include "tether/observer.hpp"

namespace tether::beast::detail {

MetricsCache::MetricsCache(Observer& observer, std::chrono::milliseconds ttl) : observer_(observer), ttl_(ttl) {
    subscription_ = observer_.recorder().on_written(
        [this](const std::vector<CapturedRequest>&) { generation_.fetch_add(1, std::memory_order_release); });
}

std::string MetricsCache::json(MetricsWindow window, std::string_view instance) {
    const auto now = std::chrono::steady_clock::now();
    const auto generation = generation_.load(std::memory_order_acquire);
    std::lock_guard lock(mutex_);
    auto key = std::make_pair(window, std::string(instance));
    if (auto it = entries_.find(key);
        it != entries_.end() && it->second.generation == generation && now - it->second.at < ttl_)
        return it->second.json;
    if (entries_.size() >= max_entries) entries_.clear();
    Entry& e = entries_[std::move(key)];
    e.json = to_json(observer_.metrics(window, instance));
    e.generation = generation;
    e.at = now;
    return e.json;
}

}  // namespace tether::beast::detail
