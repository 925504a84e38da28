#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "tether/observer.hpp"
#include "tether/open_storage.hpp"
#include "tether/sqlite_storage.hpp"

using namespace tether;

TEST_CASE("open_storage: memory, sqlite: URLs and plain paths", "[storage][config]") {
    test::TempDir dir;
    StorageConfig c;
    c.url = "memory";
    CHECK(open_storage(c)->describe() == "memory");
    c.url = "sqlite:" + dir.file("a.db");
    CHECK(open_storage(c)->describe() == "sqlite:" + dir.file("a.db"));
    c.url = "sqlite://" + dir.file("b.db");
    CHECK(open_storage(c)->describe() == "sqlite:" + dir.file("b.db"));
    c.url = dir.file("c.db");
    CHECK(open_storage(c)->describe() == "sqlite:" + dir.file("c.db"));
}

TEST_CASE("open_storage: other backends and empty paths are rejected with the key", "[storage][config]") {
    StorageConfig c;
    c.url = "mysql://localhost/tether";
    try {
        open_storage(c);
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        CHECK(e.path() == "storage.url");
        CHECK_THAT(e.what(), Catch::Contains("'mysql'"));
        CHECK_THAT(e.what(), Catch::Contains(storage_backends_built()));
    }
    c.url = "sqlite:";
    CHECK_THROWS_AS(open_storage(c), ConfigError);
    c.url = "/nonexistent-dir/x/y.db";
    CHECK_THROWS_AS(open_storage(c), StorageError);
}

TEST_CASE("observer: the builder validates the config", "[observer][config]") {
    Config c;
    c.recorder.batch_max_items = 0;
    try {
        Observer::builder().config(c).build();
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        CHECK(e.path() == "recorder.batch_max_items");
    }
    c.recorder.batch_max_items = 1;
    c.recorder.batch_max_bytes = 0;  // would make every batch empty
    try {
        Observer::builder().config(c).build();
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        CHECK(e.path() == "recorder.batch_max_bytes");
    }
    auto obs = Observer::builder().build();  // all defaults: memory storage
    CHECK(obs->storage().describe() == "memory");
    CHECK(obs->config().instance == "default");
    CHECK(is_valid_ulid(obs->ids().next()));
    CHECK(obs->redactor().is_sensitive_key("Authorization"));
}
