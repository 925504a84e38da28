#include "event_streams.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <deque>
#include <sstream>

#include "http_util.hpp"
#include "tether/observer.hpp"
#include "tether/record_json.hpp"

namespace tether::beast::detail {

namespace net = boost::asio;
using Event = std::shared_ptr<const std::string>;

namespace {

Event make_event(std::string_view name, std::string_view data) {
    std::string e;
    e.reserve(name.size() + data.size() + 16);
    e.append("event: ").append(name).append("\ndata: ").append(data).append("\n\n");
    return std::make_shared<const std::string>(std::move(e));
}

std::string head_text(const Response& head) {
    std::ostringstream os;
    os << head.base();
    return os.str();
}

}  // namespace

// One live connection. Everything touching the socket runs on its strand; the queue is
// shared with the hub's threads under the mutex, so pushing never waits for the network.
class EventConnection : public std::enable_shared_from_this<EventConnection> {
public:
    EventConnection(boost::beast::tcp_stream stream, std::size_t buffer_limit, std::shared_ptr<StreamCounters> counters)
        : stream_(std::move(stream)),
          strand_(net::make_strand(stream_.get_executor())),
          buffer_limit_(buffer_limit),
          counters_(std::move(counters)) {}
    ~EventConnection() { counters_->open.fetch_sub(1); }

    void start(std::string head) {
        stream_.expires_never();  // the host's read timeout must not cut a live stream
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::make_shared<const std::string>(std::move(head) + "retry: 5000\n\n"));
            queued_bytes_ += queue_.back()->size();
        }
        net::post(strand_, [self = shared_from_this()] {
            self->read_until_closed();
            self->write_next();
        });
    }

    /// Queue an event; false when the buffer is full (the event is lost for this reader).
    void push(const Event& event) {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        if (queued_bytes_ + event->size() > buffer_limit_) {
            ++dropped_;
            counters_->dropped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        queue_.push_back(event);
        queued_bytes_ += event->size();
        if (!writing_ && !kicked_) {
            kicked_ = true;
            net::post(strand_, [self = shared_from_this()] { self->write_next(); });
        }
    }

    void close() {
        net::post(strand_, [self = shared_from_this()] { self->shut(); });
    }

private:
    // A reader only ever sends its request; reading on detects the peer going away.
    void read_until_closed() {
        stream_.async_read_some(net::buffer(scratch_),
                                net::bind_executor(strand_, [self = shared_from_this()](auto ec, std::size_t) {
                                    if (ec) return self->shut();
                                    self->read_until_closed();
                                }));
    }

    void write_next() {
        Event next;
        {
            std::lock_guard lock(mutex_);
            kicked_ = false;
            if (writing_ || closed_) return;
            if (queue_.empty() && dropped_ > 0) {
                queue_.push_back(make_event("dropped", "{\"events\":" + std::to_string(dropped_) + "}"));
                queued_bytes_ += queue_.back()->size();
                dropped_ = 0;
            }
            if (queue_.empty()) return;
            next = queue_.front();
            writing_ = true;
        }
        net::async_write(stream_, net::buffer(*next),
                         net::bind_executor(strand_, [self = shared_from_this(), next](auto ec, std::size_t) {
                             {
                                 std::lock_guard lock(self->mutex_);
                                 self->writing_ = false;
                                 if (!self->closed_) {  // shut() already emptied the queue
                                     self->queue_.pop_front();
                                     self->queued_bytes_ -= next->size();
                                 }
                             }
                             if (ec) return self->shut();
                             self->counters_->sent.fetch_add(1, std::memory_order_relaxed);
                             self->write_next();
                         }));
    }

    void shut() {
        {
            std::lock_guard lock(mutex_);
            if (closed_) return;
            closed_ = true;
            queue_.clear();  // nothing more will be written; frees the buffer now
            queued_bytes_ = 0;
        }
        boost::system::error_code ignored;
        stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
    }

    boost::beast::tcp_stream stream_;
    net::strand<boost::beast::tcp_stream::executor_type> strand_;
    const std::size_t buffer_limit_;
    std::shared_ptr<StreamCounters> counters_;
    std::array<char, 512> scratch_{};

    std::mutex mutex_;
    std::deque<Event> queue_;  // front = being written while writing_
    std::size_t queued_bytes_ = 0;
    std::uint64_t dropped_ = 0;  // since the last `dropped` event
    bool writing_ = false, kicked_ = false, closed_ = false;
};

EventHub::EventHub(Observer& observer, MetricsCache& metrics, const DashboardOptions& options)
    : observer_(observer), metrics_(metrics), options_(options) {
    subscription_ = observer_.recorder().on_written([this](const std::vector<CapturedRequest>& stored) {
        if (counters_->open.load(std::memory_order_relaxed) == 0) return;
        for (const auto& captured : stored) broadcast(make_event("request", request_summary_json(captured.request)));
    });
    ticker_ = std::thread([this] { tick_loop(); });
}

EventHub::~EventHub() {
    subscription_.reset();  // waits for a running listener
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    close_all();
}

bool EventHub::has_room() const noexcept {
    return counters_->open.load() < options_.max_event_streams;
}

void EventHub::serve(boost::beast::tcp_stream stream, Response head) {
    // Reserve a slot atomically: concurrent handshakes must not overshoot the cap.
    auto open = counters_->open.load();
    do {
        if (open >= options_.max_event_streams) {
            counters_->refused.fetch_add(1);
            Request fake;  // only version and keep-alive are read
            fake.version(head.version());
            fake.keep_alive(false);
            auto res = error_response(
                fake, HttpError(http::status::service_unavailable, "too_many_streams",
                                "the live-update connection limit (" + std::to_string(options_.max_event_streams) +
                                    ") is reached; the dashboard falls back to polling")
                          .with(http::field::retry_after, "30"));
            auto text = std::make_shared<std::string>(head_text(res) + res.body());
            auto s = std::make_shared<boost::beast::tcp_stream>(std::move(stream));
            net::async_write(*s, net::buffer(*text), [s, text](auto, std::size_t) {
                boost::system::error_code ignored;
                s->socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
            });
            return;
        }
    } while (!counters_->open.compare_exchange_weak(open, open + 1));

    // Until a connection owns the slot (its destructor gives it back), an exception here
    // must return it, or the cap would shrink for good.
    struct SlotGuard {
        std::atomic<std::uint64_t>* open;
        ~SlotGuard() {
            if (open) open->fetch_sub(1);
        }
    } slot{&counters_->open};
    std::string head_bytes = head_text(head);
    auto connection = std::make_shared<EventConnection>(std::move(stream), options_.event_buffer_bytes, counters_);
    slot.open = nullptr;

    // Registered and started under the hub's lock: broadcasts (which copy the list under it)
    // see the connection only once its head is queued, and close_all() either sees it or
    // runs before it exists, never in between.
    std::lock_guard lock(mutex_);
    std::erase_if(connections_, [](const auto& w) { return w.expired(); });
    connections_.push_back(connection);
    connection->start(std::move(head_bytes));
}

std::vector<std::shared_ptr<EventConnection>> EventHub::live() {
    std::vector<std::shared_ptr<EventConnection>> out;
    std::lock_guard lock(mutex_);
    for (const auto& w : connections_)
        if (auto c = w.lock()) out.push_back(std::move(c));
    return out;
}

void EventHub::broadcast(const Event& event) {
    for (const auto& c : live()) c->push(event);
}

void EventHub::close_all() noexcept {
    try {
        for (const auto& c : live()) c->close();
    } catch (...) {
        // Out of memory while closing: the connections end with the host's io_context.
    }
}

void EventHub::tick_loop() {
    using clock = std::chrono::steady_clock;
    auto next_metrics = clock::now() + options_.metrics_interval;
    auto next_heartbeat = clock::now() + options_.heartbeat_interval;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_until(lock, std::min(next_metrics, next_heartbeat), [this] { return stopping_; });
        if (stopping_) break;
        const auto now = clock::now();
        if (counters_->open.load() == 0) {  // nobody listens: compute nothing
            next_metrics = now + options_.metrics_interval;
            next_heartbeat = now + options_.heartbeat_interval;
            continue;
        }
        lock.unlock();
        try {
            if (now >= next_metrics) {
                next_metrics = now + options_.metrics_interval;
                broadcast(make_event("metrics", metrics_.json(MetricsWindow::h24, {})));
            }
            if (now >= next_heartbeat) {
                next_heartbeat = now + options_.heartbeat_interval;
                broadcast(std::make_shared<const std::string>(": heartbeat\n\n"));
            }
        } catch (const std::exception&) {
            // Storage unavailable for a tick: live clients get the next one.
        }
        lock.lock();
    }
}

}  // namespace tether::beast::detail
