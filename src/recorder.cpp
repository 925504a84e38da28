#include "tether/recorder.hpp"

#include <algorithm>
#include <ctime>

#include "recorder_impl.hpp"

namespace tether {

const char* to_string(DropReason r) noexcept {
    switch (r) {
        case DropReason::queue_full: return "queue_full";
        case DropReason::too_large: return "too_large";
        case DropReason::storage_error: return "storage_error";
        case DropReason::shutdown: return "shutdown";
    }
    return "unknown";
}

namespace {
// CPU time of the calling thread; a syscall, so it is sampled once per batch.
std::uint64_t thread_cpu_us() noexcept {
    timespec ts{};
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

RetentionPolicy policy_of(const RetentionConfig& r) {
    RetentionPolicy p;
    p.max_age_us = static_cast<Micros>(r.max_age.count()) * 3600 * 1'000'000;
    p.max_requests = r.max_requests;
    p.max_tracked_mutations = r.max_tracked_mutations;
    return p;
}
}  // namespace

void WriteListeners::notify(const std::vector<CapturedRequest>& stored) noexcept {
    if (!any.load(std::memory_order_acquire)) return;
    std::lock_guard lock(mutex);
    for (auto& [id, listener] : items) {
        try {
            listener(stored);
        } catch (...) {
            // A listener's failure is its own; the batch is committed either way.
        }
    }
}

Recorder::Impl::Impl(const Config& config, std::shared_ptr<Storage> storage_, std::shared_ptr<ErrorHandler> errors_,
                     std::shared_ptr<const Clock> clock_, std::unique_ptr<detail::Pipeline> pipeline_,
                     std::shared_ptr<const TelemetryAggregator> telemetry_)
    : cfg(config.recorder),
      retention(policy_of(config.retention)),
      retention_cfg(config.retention),
      storage(std::move(storage_)),
      errors(std::move(errors_)),
      clock(std::move(clock_)),
      pipeline(std::move(pipeline_)),
      telemetry(std::move(telemetry_)) {
    next_prune_us_ = clock->steady_us();  // prune once right away: the file may be over its limits
    processor_ = std::thread([this] { process_loop(); });
    writer_ = std::thread([this] { store_loop(); });
}

Recorder::Impl::~Impl() { shutdown(cfg.shutdown_timeout); }

void Recorder::Impl::drop(DropReason reason, std::uint64_t n) noexcept {
    dropped_[static_cast<std::size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
}

void Recorder::Impl::report(ErrorSource source, std::string message, int attempt, bool retry,
                            std::uint64_t dropped) noexcept {
    try {
        ErrorEvent ev;
        ev.source = source;
        ev.message = std::move(message);
        ev.attempt = attempt;
        ev.will_retry = retry;
        ev.dropped = dropped;
        errors->on_error(ev);
    } catch (...) {
        // A handler that throws (despite noexcept contracts) must not take the writer down.
    }
}

bool Recorder::Impl::record(Exchange&& ex) noexcept {
    offered_.fetch_add(1, std::memory_order_relaxed);
    // Truncation only shrinks the string: no allocation on this path.
    bool truncated = false;
    if (ex.request_body.size() > cfg.max_body_bytes) {
        ex.request_body.resize(cfg.max_body_bytes);
        ex.request_truncated = truncated = true;
    }
    if (ex.response_body.size() > cfg.max_body_bytes) {
        ex.response_body.resize(cfg.max_body_bytes);
        ex.response_truncated = truncated = true;
    }
    if (truncated) truncated_.fetch_add(1, std::memory_order_relaxed);
    const std::size_t size = ex.byte_size();
    if (size > cfg.queue_max_bytes) {
        drop(DropReason::too_large, 1);
        return false;
    }
    if (ex.started_at_us == 0) ex.started_at_us = clock->now_us();

    bool wake = false;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        auto full = [&] { return queue_.size() >= cfg.queue_max_items || queued_bytes_ + size > cfg.queue_max_bytes; };
        if (!stopping_ && full() && cfg.overflow == OverflowPolicy::block) {
            ++blocked_producers_;
            writer_cv_.notify_one();
            space_cv_.wait_for(lock, cfg.block_timeout, [&] { return stopping_ || !full(); });
            --blocked_producers_;
        }
        if (stopping_) {
            drop(DropReason::shutdown, 1);
            return false;
        }
        if (full()) {
            drop(DropReason::queue_full, 1);
            return false;
        }
        queue_.push_back(std::move(ex));
        queued_bytes_ += size;
        ++accepted_seq_;
        // Waking the writer costs a syscall; only do it when a batch is ready or someone waits.
        wake = queue_.size() == cfg.batch_max_items ||
               (queued_bytes_ >= cfg.batch_max_bytes && queued_bytes_ - size < cfg.batch_max_bytes) || flush_waiters_ > 0;
    }
    if (wake) writer_cv_.notify_one();
    return true;
}

// Stage 1: take a batch off the queue and turn it into records. Runs concurrently with
// stage 2 writing the previous batch, so parsing costs no storage throughput.
void Recorder::Impl::process_loop() noexcept {
    std::vector<Exchange> taken;
    for (;;) {
        taken.clear();
        {
            std::unique_lock<std::mutex> lock(mutex_);
            auto ready = [&] {
                return stopping_ || queue_.size() >= cfg.batch_max_items || queued_bytes_ >= cfg.batch_max_bytes ||
                       ((flush_waiters_ > 0 || blocked_producers_ > 0) && !queue_.empty());
            };
            if (!ready()) {
                // Producers do not wake us for a partial batch (that would cost them a syscall),
                // so poll every batch_max_delay: it bounds both latency and idle wake-ups.
                writer_cv_.wait_for(lock, cfg.batch_max_delay, ready);
            }
            if (stopping_ && queue_.empty()) break;
            std::size_t bytes = 0;
            while (!queue_.empty() && taken.size() < cfg.batch_max_items && bytes < cfg.batch_max_bytes) {
                const std::size_t b = queue_.front().byte_size();
                bytes += b;
                queued_bytes_ -= b;
                taken.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            const std::size_t n = taken.size();
            in_flight_ += n;
            if (blocked_producers_ > 0 && n > 0) space_cv_.notify_all();
        }
        if (taken.empty()) continue;
        Processed batch;
        batch.requests.reserve(taken.size());
        for (auto& ex : taken) batch.requests.push_back(pipeline->process(std::move(ex)));
        try {
            batch.rollups = telemetry->rollup(batch.requests);
        } catch (const std::exception& e) {  // out of memory: store the requests without telemetry
            report(ErrorSource::pipeline, std::string("telemetry rollup failed: ") + e.what(), 0, false, 0);
        }
        // Sampled before the hand-off, so that once flush() returns the stats include this batch.
        process_cpu_us_.store(thread_cpu_us(), std::memory_order_relaxed);
        std::unique_lock<std::mutex> lock(mutex_);
        handoff_cv_.wait(lock, [&] { return !handoff_ || abandon_.load(); });
        if (abandon_.load()) {  // shutdown gave up: nobody will write this batch
            drop(DropReason::shutdown, batch.requests.size());
            settle(batch.requests.size());
            continue;
        }
        handoff_ = std::move(batch);
        handoff_cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    processor_exited_ = true;
    handoff_cv_.notify_all();
}

// Stage 2: write processed batches (with retries) and run retention between them.
void Recorder::Impl::store_loop() noexcept {
    for (;;) {
        std::optional<Processed> batch;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            handoff_cv_.wait_for(lock, cfg.batch_max_delay, [&] { return handoff_ || processor_exited_; });
            if (handoff_) {
                batch = std::move(handoff_);
                handoff_.reset();
                handoff_cv_.notify_all();  // the slot is free: stage 1 may hand over the next one
            } else if (processor_exited_) {
                break;
            }
        }
        if (batch) {
            Tally t = write_with_retry(*batch);
            store_cpu_us_.store(thread_cpu_us(), std::memory_order_relaxed);  // before settle(), as above
            std::lock_guard<std::mutex> lock(mutex_);
            // Counted under the lock with settle(), so stats() never sees an exchange twice.
            written_.fetch_add(t.written, std::memory_order_relaxed);
            drop(t.reason, t.dropped);
            settle(batch->requests.size());
        }
        prune_some(!batch);
        store_cpu_us_.store(thread_cpu_us(), std::memory_order_relaxed);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    writer_exited_ = true;
    done_cv_.notify_all();
}

// Caller holds mutex_: `n` in-flight exchanges are now written or dropped.
void Recorder::Impl::settle(std::size_t n) noexcept {
    done_seq_ += n;
    in_flight_ -= n;
    done_cv_.notify_all();
}

// One storage attempt; nullopt on success, else (transient?, message).
std::optional<std::pair<bool, std::string>> Recorder::Impl::try_write(const std::vector<CapturedRequest>& requests,
                                                                      const RollupBatch& rollups) noexcept {
    try {
        storage->write_batch(requests, rollups);
    } catch (const StorageError& e) {
        return std::make_pair(e.transient(), std::string(e.what()));
    } catch (const std::exception& e) {
        return std::make_pair(false, std::string(e.what()));
    } catch (...) {
        return std::make_pair(false, std::string("unknown exception from storage"));
    }
    batches_.fetch_add(1, std::memory_order_relaxed);
    try {
        telemetry->counters().count(requests);
    } catch (const std::exception&) {
        // Out of memory while counting: the requests are stored; only the scrape totals lag.
    }
    listeners->notify(requests);
    return std::nullopt;
}

Recorder::Impl::Tally Recorder::Impl::write_with_retry(const Processed& processed) noexcept {
    const auto& batch = processed.requests;
    auto backoff = cfg.retry_initial;
    for (int attempt = 1;; ++attempt) {
        auto failure = try_write(batch, processed.rollups);
        if (!failure) return {batch.size(), 0, DropReason::storage_error};
        storage_errors_.fetch_add(1, std::memory_order_relaxed);
        const auto& [transient, message] = *failure;
        if (abandon_.load()) {
            report(ErrorSource::storage, "write failed during shutdown: " + message, attempt, false, batch.size());
            return {0, batch.size(), DropReason::shutdown};
        }
        if (!transient && batch.size() > 1) return write_one_by_one(processed, message);
        if (!transient || attempt >= cfg.retry_max_attempts) {
            report(ErrorSource::storage, "write of " + std::to_string(batch.size()) + " request(s) failed: " + message,
                   attempt, false, batch.size());
            return {0, batch.size(), DropReason::storage_error};
        }
        report(ErrorSource::storage, "write failed: " + message, attempt, true, 0);
        // Sleep, but wake early when a shutdown gives up on the queue.
        std::unique_lock<std::mutex> lock(mutex_);
        done_cv_.wait_for(lock, backoff, [&] { return abandon_.load(); });
        backoff = std::min(backoff * 2, cfg.retry_max);
    }
}

// A permanent error (say, a duplicate host-supplied id) must cost only the offending
// exchange, not its whole batch: store the batch one request at a time.
Recorder::Impl::Tally Recorder::Impl::write_one_by_one(const Processed& processed, const std::string& first_error) noexcept {
    Tally t{0, 0, DropReason::storage_error};
    std::string last_error = first_error;
    for (const auto& c : processed.requests) {
        std::optional<std::pair<bool, std::string>> failure;
        try {
            std::vector<CapturedRequest> one{c};
            failure = try_write(one, telemetry->rollup(one));
        } catch (const std::exception& e) {
            failure = std::make_pair(false, std::string(e.what()));
        }
        if (failure) {
            storage_errors_.fetch_add(1, std::memory_order_relaxed);
            last_error = failure->second;
            ++t.dropped;
        } else {
            ++t.written;
        }
    }
    if (t.dropped)
        report(ErrorSource::storage,
               std::to_string(t.dropped) + " of " + std::to_string(processed.requests.size()) +
                   " request(s) could not be stored: " + last_error,
               1, false, t.dropped);
    return t;
}

void Recorder::Impl::prune_some(bool idle) noexcept {
    const Micros now = clock->steady_us();
    if (now < next_prune_us_) return;
    const Micros interval = std::chrono::duration_cast<std::chrono::microseconds>(retention_cfg.prune_interval).count();
    try {
        // Telemetry keeps its own horizon: pruning requests never thins the metrics.
        if (!prune_backlog_) {
            const auto keep = std::chrono::duration_cast<std::chrono::microseconds>(telemetry->config().retention).count();
            storage->prune_rollups(clock->now_us() - keep);
        }
        // Busy writer: one small batch per loop, so ingest is never held up for long.
        // Idle writer: keep going until nothing is left to prune.
        for (bool any_limit = retention.limits_requests() || retention.max_tracked_mutations != 0; any_limit;) {
            std::size_t n = storage->prune(retention, clock->now_us(), retention_cfg.prune_batch);
            pruned_.fetch_add(n, std::memory_order_relaxed);
            if (n < retention_cfg.prune_batch) break;
            prune_backlog_ = true;
            if (!idle) return;  // more to do: come back after the next batch
            std::lock_guard<std::mutex> lock(mutex_);
            if (!queue_.empty() || handoff_ || flush_waiters_ > 0 || stopping_) return;
        }
    } catch (const std::exception& e) {
        report(ErrorSource::retention, std::string("prune failed: ") + e.what(), 0, true, 0);
    }
    prune_backlog_ = false;
    next_prune_us_ = now + interval;
}

bool Recorder::Impl::flush(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::uint64_t target = accepted_seq_;
    ++flush_waiters_;
    writer_cv_.notify_one();
    bool ok = done_cv_.wait_for(lock, timeout, [&] { return done_seq_ >= target || writer_exited_; });
    --flush_waiters_;
    return ok && done_seq_ >= target;
}

bool Recorder::Impl::shutdown(std::chrono::milliseconds timeout) {
    // Serialized: the host and ~Observer may both call it; the second one finds it done.
    std::lock_guard<std::mutex> once(shutdown_mutex_);
    std::uint64_t abandoned = 0;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!writer_.joinable()) return true;
        stopping_ = true;
        writer_cv_.notify_all();
        space_cv_.notify_all();
        bool drained = done_cv_.wait_for(lock, timeout, [&] { return queue_.empty() && in_flight_ == 0; });
        if (!drained) {
            abandoned = queue_.size();
            drop(DropReason::shutdown, abandoned);
            done_seq_ += abandoned;
            queue_.clear();
            queued_bytes_ = 0;
            abandon_.store(true);
            done_cv_.notify_all();
            handoff_cv_.notify_all();
        }
    }
    processor_.join();
    writer_.join();
    return abandoned == 0 && !abandon_.load();
}

RecorderStats Recorder::Impl::stats() const noexcept {
    RecorderStats s;
    auto dropped = [&](DropReason r) { return dropped_[static_cast<std::size_t>(r)].load(); };
    {
        // Everything the writer settles changes under this lock, so the snapshot is consistent;
        // `offered` is read last so it is never smaller than what was accounted for.
        std::lock_guard<std::mutex> lock(mutex_);
        s.accepted = accepted_seq_;
        s.queued = queue_.size();
        s.queued_bytes = queued_bytes_;
        s.in_flight = in_flight_;
        s.written = written_.load();
        s.dropped_queue_full = dropped(DropReason::queue_full);
        s.dropped_too_large = dropped(DropReason::too_large);
        s.dropped_storage_error = dropped(DropReason::storage_error);
        s.dropped_shutdown = dropped(DropReason::shutdown);
    }
    s.dropped = s.dropped_queue_full + s.dropped_too_large + s.dropped_storage_error + s.dropped_shutdown;
    s.offered = offered_.load();
    s.truncated = truncated_.load();
    s.batches = batches_.load();
    s.storage_errors = storage_errors_.load();
    s.pruned = pruned_.load();
    s.process_cpu_us = process_cpu_us_.load(std::memory_order_relaxed);
    s.store_cpu_us = store_cpu_us_.load(std::memory_order_relaxed);
    return s;
}

// ---- public facade ----

Recorder::Recorder(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Recorder::~Recorder() = default;
bool Recorder::record(Exchange&& exchange) noexcept { return impl_->record(std::move(exchange)); }
RecorderStats Recorder::stats() const noexcept { return impl_->stats(); }
bool Recorder::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }
bool Recorder::shutdown(std::chrono::milliseconds timeout) { return impl_->shutdown(timeout); }
const Clock& Recorder::clock() const noexcept { return *impl_->clock; }

Subscription Recorder::on_written(WriteListener listener) {
    auto registry = impl_->listeners;
    std::uint64_t id = 0;
    {
        std::lock_guard lock(registry->mutex);
        id = ++registry->next_id;
        registry->items.emplace_back(id, std::move(listener));
        registry->any.store(true, std::memory_order_release);
    }
    return Subscription([weak = std::weak_ptr<WriteListeners>(registry), id] {
        auto reg = weak.lock();
        if (!reg) return;
        std::lock_guard lock(reg->mutex);
        auto& items = reg->items;
        items.erase(std::remove_if(items.begin(), items.end(), [id](const auto& item) { return item.first == id; }),
                    items.end());
        reg->any.store(!items.empty(), std::memory_order_release);
    });
}

RequestScope::RequestScope(Recorder& recorder, ExchangeKind kind) noexcept
    : recorder_(recorder), steady_start_us_(recorder.clock().steady_us()) {
    exchange_.kind = kind;
    exchange_.started_at_us = recorder.clock().now_us();
}

RequestScope::~RequestScope() {
    if (cancelled_) return;
    exchange_.duration_us = recorder_.clock().steady_us() - steady_start_us_;
    recorder_.record(std::move(exchange_));
}

}  // namespace tether
