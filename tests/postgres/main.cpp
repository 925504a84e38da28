// tether_postgres_tests needs a PostgreSQL server. Without TETHER_TEST_POSTGRES_URL every run
// exits 77, which CTest reports as skipped (SKIP_RETURN_CODE); listing the tests (CTest's test
// discovery at build time) works without one.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstring>
#include <iostream>

#include "postgres/pg_fixture.hpp"

int main(int argc, char** argv) {
    bool listing = false;
    for (int i = 1; i < argc; ++i) listing = listing || std::strncmp(argv[i], "--list", 6) == 0;
    if (!listing && tether::test::postgres_test_url().empty()) {
        std::cout << "SKIP: TETHER_TEST_POSTGRES_URL is not set; start a server with\n"
                     "  eval \"$(scripts/pg-test-server start /tmp/tether-pg)\"\n"
                     "(scripts/test does this when PostgreSQL is installed)\n";
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
