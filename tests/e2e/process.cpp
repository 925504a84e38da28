#include "e2e/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace tether::e2e {
namespace {

std::string errno_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

void close_fd(int& fd) noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

Process::Process(std::string program, std::vector<std::string> args) {
    command_ = program;
    for (const auto& a : args) command_ += " " + a;

    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2", errno));
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        const int e = errno;
        close_fd(out_pipe[0]);
        close_fd(out_pipe[1]);
        throw std::runtime_error(errno_text("pipe2", e));
    }
    auto close_all = [&] {
        for (int* fd : {&out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1]}) close_fd(*fd);
    };

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 clears FD_CLOEXEC on the target; every other pipe end closes on exec.
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

    std::vector<char*> argv;
    argv.push_back(program.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const int rc = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        close_all();
        throw std::runtime_error(errno_text(("cannot start " + program).c_str(), rc));
    }
    close_fd(out_pipe[1]);
    close_fd(err_pipe[1]);
    reader_ = std::thread([this, o = out_pipe[0], e = err_pipe[0]] { read_loop(o, e); });
}

Process::~Process() {
    if (!status_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
    }
    if (reader_.joinable()) reader_.join();  // the pipes reach EOF once the child is gone
}

void Process::read_loop(int out_fd, int err_fd) {
    char buf[8192];
    for (;;) {
        pollfd fds[2];
        nfds_t n = 0;
        if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
        if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
        if (n == 0) return;
        if (::poll(fds, n, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (nfds_t i = 0; i < n; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            const bool is_out = fds[i].fd == out_fd;
            std::lock_guard lock(mutex_);
            if (got > 0) {
                (is_out ? out_ : err_).append(buf, static_cast<std::size_t>(got));
            } else {
                (is_out ? out_closed_ : err_closed_) = true;
                close_fd(is_out ? out_fd : err_fd);
            }
            cv_.notify_all();
        }
    }
    close_fd(out_fd);
    close_fd(err_fd);
    std::lock_guard lock(mutex_);
    out_closed_ = err_closed_ = true;
    cv_.notify_all();
}

void Process::signal(int sig) {
    if (!status_ && pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    {
        // An exiting child closes its pipes: wait for that instead of polling blindly.
        std::unique_lock lock(mutex_);
        cv_.wait_until(lock, deadline, [&] { return out_closed_ && err_closed_; });
    }
    for (;;) {
        int st = 0;
        rusage usage{};
        const pid_t r = ::wait4(pid_, &st, WNOHANG, &usage);
        if (r == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
            auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
            cpu_seconds_ = seconds(usage.ru_utime) + seconds(usage.ru_stime);
            break;
        }
        if (r < 0 && errno != EINTR) {
            status_ = -1;
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        // The pipes are closed (or the child closed them itself): it is about to be reapable.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (reader_.joinable()) reader_.join();
    return status_;
}

bool Process::wait_for_stdout(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return pred(out_) || out_closed_; });
    return pred(out_);
}

std::string Process::out() const {
    std::lock_guard lock(mutex_);
    return out_;
}

std::string Process::err() const {
    std::lock_guard lock(mutex_);
    return err_;
}

std::string Process::describe() const {
    std::lock_guard lock(mutex_);
    return "$ " + command_ + "\n" + (status_ ? "exit status " + std::to_string(*status_) : std::string("running")) +
           "\n--- stdout ---\n" + out_ + "--- stderr ---\n" + err_;
}

}  // namespace tether::e2e
