#pragma once
// Storage backends for tests that run the same scenario on each one.
#include <memory>

#include "support/temp_dir.hpp"
#include "tether/storage.hpp"
#ifdef TETHER_HAVE_SQLITE
#include "tether/sqlite_storage.hpp"
#endif

namespace tether::test {

struct MemoryBackend {
    static std::shared_ptr<Storage> open(TempDir&) { return make_memory_storage(); }
};

#ifdef TETHER_HAVE_SQLITE
struct SqliteFileBackend {
    static std::shared_ptr<Storage> open(TempDir& dir) { return open_sqlite_storage({dir.file("test.db")}); }
};
#endif

}  // namespace tether::test
