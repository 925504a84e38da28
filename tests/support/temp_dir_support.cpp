#include <stdlib.h>  // mkdtemp

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "support/temp_dir.hpp"

namespace tether::test {

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tether-test-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
        throw std::system_error(errno, std::generic_category(), "cannot create a temporary directory");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;  // best effort: a destructor must not throw
    std::filesystem::remove_all(path_, ec);
}

}  // namespace tether::test
