#include "tether/errors.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cstdio>

namespace tether {

ConfigError::ConfigError(std::string path, std::string expected, const std::string& detail)
    : Error((path.empty() ? std::string("config") : "config key '" + path + "'") + ": expected " + expected +
            (detail.empty() ? std::string() : " (" + detail + ")")),
      path_(std::move(path)),
      expected_(std::move(expected)) {}

InvalidArgument::InvalidArgument(std::string parameter, std::string message)
    : Error(parameter + ": " + message), parameter_(std::move(parameter)), message_(std::move(message)) {}

JsonError::JsonError(const std::string& message, std::size_t offset, std::size_t line, std::size_t column)
    : Error(message), offset_(offset), line_(line), column_(column) {}

StorageError::StorageError(const std::string& message, bool transient) : Error(message), transient_(transient) {}

const char* to_string(ErrorSource s) noexcept {
    switch (s) {
        case ErrorSource::storage: return "storage";
        case ErrorSource::pipeline: return "pipeline";
        case ErrorSource::retention: return "retention";
        case ErrorSource::recorder: return "recorder";
        case ErrorSource::dashboard: return "dashboard";
    }
    return "unknown";
}

void StderrErrorHandler::on_error(const ErrorEvent& event) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto idx = std::min<std::size_t>(static_cast<std::size_t>(event.source), std::size(last_printed_us_) - 1);
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    if (now - last_printed_us_[idx] < 1'000'000 && last_printed_us_[idx] != 0) {
        ++suppressed_[idx];
        return;
    }
    last_printed_us_[idx] = now;
    std::fprintf(stderr, "tether [%s] %s%s", to_string(event.source), event.message.c_str(),
                 event.will_retry ? " (will retry)" : "");
    if (event.dropped) std::fprintf(stderr, " (dropped %llu)", static_cast<unsigned long long>(event.dropped));
    if (suppressed_[idx]) {
        std::fprintf(stderr, " [%llu similar suppressed]", static_cast<unsigned long long>(suppressed_[idx]));
        suppressed_[idx] = 0;
    }
    std::fputc('\n', stderr);
}

}  // namespace tether
