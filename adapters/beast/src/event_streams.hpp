#pragma once
// Live updates over Server-Sent Events. One hub per dashboard: it hears about every
// committed batch from the Recorder (a `request` event per stored request) and, on its own
// thread, computes the metrics document once per tick for all listeners (a `metrics` event)
// and sends heartbeats. Each connection has a bounded buffer; a reader that falls behind
// loses events (counted, and told by a `dropped` event) rather than growing memory.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "metrics_cache.hpp"
#include "tether/beast/dashboard.hpp"
#include "tether/recorder.hpp"

namespace tether::beast::detail {

/// Counters shared with the connections, which may outlive the hub.
struct StreamCounters {
    std::atomic<std::uint64_t> open{0}, refused{0}, sent{0}, dropped{0};
};

class EventConnection;

class EventHub {
public:
    EventHub(Observer& observer, MetricsCache& metrics, const DashboardOptions& options);
    ~EventHub();  // stops the ticker, unsubscribes, closes every connection

    /// Fast pre-check for handle(): false when the connection cap is reached.
    bool has_room() const noexcept;
    /// Takes over the connection; writes a 503 instead of `head` when over the cap.
    void serve(boost::beast::tcp_stream stream, Response head);
    void close_all() noexcept;

    const StreamCounters& counters() const noexcept { return *counters_; }

private:
    void broadcast(const std::shared_ptr<const std::string>& event);
    void tick_loop();
    std::vector<std::shared_ptr<EventConnection>> live();

    Observer& observer_;
    MetricsCache& metrics_;
    const DashboardOptions& options_;
    std::shared_ptr<StreamCounters> counters_ = std::make_shared<StreamCounters>();

    std::mutex mutex_;
    std::vector<std::weak_ptr<EventConnection>> connections_;
    std::condition_variable wake_;
    bool stopping_ = false;
    Subscription subscription_;
    std::thread ticker_;
};

}  // namespace tether::beast::detail
