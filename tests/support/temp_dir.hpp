#pragma once
// A unique scratch directory for one test, removed (with its contents) on destruction.
#include <filesystem>
#include <string>
#include <string_view>

namespace tether::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    /// Full path of `name` inside the directory (the file is not created).
    std::string file(std::string_view name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

}  // namespace tether::test
