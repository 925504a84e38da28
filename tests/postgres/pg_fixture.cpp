#include "postgres/pg_fixture.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

namespace tether::test {
namespace {

std::unique_ptr<pqxx::connection> connect(const std::string& schema) {
    auto c = std::make_unique<pqxx::connection>(postgres_test_url());
    pqxx::nontransaction(*c).exec("SET search_path TO " + schema + "; SET client_min_messages TO warning");
    return c;
}

}  // namespace

std::string postgres_test_url() {
    const char* url = std::getenv("TETHER_TEST_POSTGRES_URL");
    return url ? url : "";
}

PgSchema::PgSchema() {
    static std::atomic<int> counter{0};
    static const unsigned salt = std::random_device{}() % 100000;
    name_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" + std::to_string(++counter);
}

PgSchema::~PgSchema() {
    try {
        auto c = connect("public");
        pqxx::nontransaction(*c).exec("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
    } catch (...) {  // a leftover schema only costs disk in a throwaway server
    }
}

PostgresOptions PgSchema::options() const {
    PostgresOptions o;
    o.url = postgres_test_url();
    o.schema = name_;
    o.connect_timeout = std::chrono::milliseconds(5000);
    return o;
}

pqxx::result PgSchema::exec(const std::string& sql) const {
    auto c = connect(name_);
    pqxx::nontransaction tx(*c);
    return tx.exec(sql);
}

int PgSchema::kill_connections() const {
    auto c = connect(name_);
    pqxx::nontransaction tx(*c);
    const std::string application = "tether-pro:" + name_;
    const int killed =
        tx.exec_params("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                       application)[0][0]
            .as<int>();
    // pg_terminate_backend only signals: wait for the processes to exit.
    for (int i = 0; i < 500; ++i) {
        if (tx.exec_params("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", application)[0][0]
                .as<int>() == 0)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return killed;
}

}  // namespace tether::test
