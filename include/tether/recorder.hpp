#pragma once
// Recorder: the hooks a sync server calls. record() only moves the exchange into a
// bounded queue; a background writer parses, redacts, diffs and stores it in batches.
// Nothing here throws out of a hook or blocks (unless OverflowPolicy::block is chosen),
// and every exchange offered is accounted for: written, dropped (by reason) or queued.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tether/exchange.hpp"
#include "tether/records.hpp"

namespace tether {

class Clock;

enum class DropReason : std::uint8_t {
    queue_full,     ///< queue item or byte cap reached
    too_large,      ///< one exchange exceeds the queue byte cap even after body truncation
    storage_error,  ///< storage kept failing after all retries
    shutdown        ///< offered after shutdown, or still queued when shutdown timed out
};
const char* to_string(DropReason r) noexcept;

/// Counters. Invariant at any quiescent point:
/// offered == written + dropped + queued (+ in_flight while a batch is being written).
struct RecorderStats {
    std::uint64_t offered = 0;   ///< record() calls
    std::uint64_t accepted = 0;  ///< entered the queue
    std::uint64_t written = 0;   ///< committed to storage
    std::uint64_t dropped = 0;   ///< sum of the reasons below
    std::uint64_t dropped_queue_full = 0;
    std::uint64_t dropped_too_large = 0;
    std::uint64_t dropped_storage_error = 0;
    std::uint64_t dropped_shutdown = 0;
    std::uint64_t queued = 0;       ///< waiting in the queue now
    std::uint64_t queued_bytes = 0;
    std::uint64_t in_flight = 0;    ///< taken by the writer, not yet committed or dropped
    std::uint64_t truncated = 0;    ///< exchanges with at least one truncated body
    std::uint64_t batches = 0;      ///< committed transactions
    std::uint64_t storage_errors = 0;  ///< failed write attempts (each retry counts)
    std::uint64_t pruned = 0;       ///< requests removed by retention
    /// CPU time the recorder's own threads used since start: what observing costs the host.
    /// `process` parses, redacts and diffs; `store` writes to storage and runs retention.
    std::uint64_t process_cpu_us = 0;
    std::uint64_t store_cpu_us = 0;
};

/// Called on the writer thread after each committed batch with the requests just stored
/// (already redacted). It runs between storage writes, so it must be quick and must not
/// block: copy what it needs and hand it to another thread. Exceptions are swallowed.
using WriteListener = std::function<void(const std::vector<CapturedRequest>& stored)>;

/// Keeps a WriteListener registered; destroying or reset() unregisters it. reset() waits
/// for a running call to finish, so the listener's captures may be destroyed right after.
/// Safe to outlive the Recorder. Must not be reset from inside the listener itself.
class Subscription {
public:
    Subscription() = default;
    explicit Subscription(std::function<void()> cancel) noexcept : cancel_(std::move(cancel)) {}
    Subscription(Subscription&& other) noexcept : cancel_(std::move(other.cancel_)) { other.cancel_ = nullptr; }
    Subscription& operator=(Subscription&& other) noexcept {
        if (this != &other) {
            reset();
            cancel_ = std::move(other.cancel_);
            other.cancel_ = nullptr;
        }
        return *this;
    }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { reset(); }

    void reset() noexcept {
        if (cancel_) {
            auto cancel = std::move(cancel_);
            cancel_ = nullptr;
            cancel();
        }
    }
    explicit operator bool() const noexcept { return static_cast<bool>(cancel_); }

private:
    std::function<void()> cancel_;
};

class Recorder {
public:
    struct Impl;
    explicit Recorder(std::unique_ptr<Impl> impl) noexcept;
    ~Recorder();  // drains with RecorderConfig::shutdown_timeout
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    /// Hand over one exchange. O(1), never throws. Returns false when it was dropped
    /// (the reason is counted). Bodies over max_body_bytes are truncated and flagged.
    bool record(Exchange&& exchange) noexcept;

    RecorderStats stats() const noexcept;

    /// Wait until everything offered before this call is written or dropped.
    /// Returns false on timeout. Must not be called from an ErrorHandler.
    bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// Stop accepting, write what is queued, stop the writer. Exchanges still queued
    /// when the timeout expires are dropped (reason shutdown). Idempotent.
    /// Returns true when nothing was dropped by the shutdown itself.
    bool shutdown(std::chrono::milliseconds timeout);

    const Clock& clock() const noexcept;

    /// Be told about every batch committed from now on (live dashboards, exporters).
    Subscription on_written(WriteListener listener);

private:
    std::unique_ptr<Impl> impl_;
};

/// Times one request: set the bodies and status as the handler produces them; the
/// destructor stamps the duration and records the exchange (unless cancel() was called).
///
///     tether::RequestScope scope(observer.recorder(), tether::ExchangeKind::push);
///     scope->request_body = body;  …  scope->response_body = response; scope->http_status = 200;
class RequestScope {
public:
    RequestScope(Recorder& recorder, ExchangeKind kind) noexcept;
    ~RequestScope();
    RequestScope(const RequestScope&) = delete;
    RequestScope& operator=(const RequestScope&) = delete;

    Exchange& exchange() noexcept { return exchange_; }
    Exchange* operator->() noexcept { return &exchange_; }
    /// Do not record this request.
    void cancel() noexcept { cancelled_ = true; }

private:
    Recorder& recorder_;
    Exchange exchange_;
    Micros steady_start_us_;
    bool cancelled_ = false;
};

}  // namespace tether
