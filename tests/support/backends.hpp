#pragma once
// Storage backends for tests that run the same scenario on each one.
#include <memory>

#include "support/temp_dir.hpp"
#include "tether/storage.hpp"
#ifdef TETHER_HAVE_SQLITE
#include "tether/sqlite_storage.hpp"
#endif
#ifdef TETHER_TEST_POSTGRES
#include "postgres/pg_fixture.hpp"
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

/// Fresh stores for TEMPLATE_TEST_CASE(…, TETHER_STORAGE_BACKENDS): each instance owns a new,
/// empty storage in `storage`. ":memory:" SQLite runs on a single shared connection, a
/// different code path from a file. tether_postgres_tests (TETHER_TEST_POSTGRES) runs the
/// same suites on tether::test::FreshPostgres alone: a new schema per test case.
struct FreshMemory {
    std::shared_ptr<Storage> storage = make_memory_storage();
};
#if defined(TETHER_TEST_POSTGRES)
#define TETHER_STORAGE_BACKENDS tether::test::FreshPostgres
#elif defined(TETHER_HAVE_SQLITE)
struct FreshSqliteFile {
    TempDir dir;
    std::shared_ptr<Storage> storage = open_sqlite_storage({dir.file("contract.db")});
};
struct FreshSqliteMemory {
    std::shared_ptr<Storage> storage = open_sqlite_storage({":memory:"});
};
#define TETHER_STORAGE_BACKENDS tether::test::FreshMemory, tether::test::FreshSqliteFile, tether::test::FreshSqliteMemory
#else
#define TETHER_STORAGE_BACKENDS tether::test::FreshMemory
#endif

}  // namespace tether::test
