#pragma once
// Simulated Tether clients. Each keeps a local store (the entities it knows were applied),
// a client id and version, a pull cursor and a queue of edits made "offline". All choices
// come from a per-client random generator seeded from --seed, so a run is reproducible in
// what the fleet decides to send; contents that depend on the server's answers (which
// entities exist, pull pages) follow the server.
#include <boost/json.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "summary.hpp"

namespace fleet {

/// Clients on this version always send Project without `name`: a systematic failure the
/// dashboard should single out.
inline constexpr const char* broken_version = "2.0.0-beta.3";

/// Entities all clients edit (created by the setup push): the source of real conflicts.
struct World {
    std::vector<std::string> tasks, projects, notes;
};
World make_world(std::uint64_t seed);

/// splitmix64: derives independent seeds for clients and workers from --seed.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream);

/// ULID (26 Crockford base32 chars) from a millisecond time and the given generator.
std::string make_ulid(std::int64_t ms, std::mt19937_64& rng);

/// One mutation as sent.
struct Sent {
    std::string mutation_id, entity_id, model, operation;
    boost::json::object json;  ///< the mutation object in the body
    bool own = false;          ///< an entity of this client (kept in its local store when applied)
    bool resent = false;       ///< a re-push of a mutation sent before
};

struct Request {
    bool push = true;
    std::string path;
    std::string body;
    /// The elements of the body's `mutations` array as sent: empty for pulls and for bodies
    /// without a readable array; a malformed push keeps its (broken) mutations.
    std::vector<Sent> mutations;
    bool malformed = false;     ///< deliberately broken body (expects 400/422)
    bool names_client = true;   ///< the body names its client_id (even if truncated): the dashboard can attribute it
};

class SimClient {
public:
    SimClient(std::string id, std::string version, std::uint64_t seed, const World& world);

    const std::string& id() const noexcept { return id_; }
    const std::string& version() const noexcept { return version_; }
    const std::string& authorization() const noexcept { return authorization_; }

    /// Decide and build the next request. Edits made offline since the last push go out with it.
    Request next(std::int64_t now_ms);
    /// Fold the server's answer into the local store. `body` is null when it was not JSON.
    void on_response(const Request& req, int status, const boost::json::value* body);
    /// No answer: the mutations are queued again, as a real client would retry them.
    void on_transport_error(const Request& req);

private:
    struct Entity {
        std::string id;
        std::string model;
        boost::json::object data;
        std::int64_t version = 0;
    };

    double uniform();
    std::size_t pick(std::size_t n);
    std::string words(std::size_t min, std::size_t max);
    std::string pick_model();
    boost::json::object valid_payload(const std::string& model);
    boost::json::object invalid_payload(const std::string& model);
    Sent mutation(std::string entity_id, std::string model, std::string operation, boost::json::object payload,
                  std::int64_t version, std::int64_t timestamp_ms, bool own);
    Sent create_own(std::int64_t now_ms, std::string model = {});
    Sent update_own(std::int64_t now_ms);
    Sent update_shared(std::int64_t timestamp_ms);
    Sent next_mutation(std::int64_t now_ms);
    void work_offline(std::int64_t now_ms);
    Request push(std::vector<Sent> mutations);
    Request pull(bool continuation);
    Entity* find_own(const std::string& id);
    Entity& own_entity(const std::string& id);
    void erase_own(const std::string& id);
    Entity& pick_own();
    Request malformed(std::int64_t now_ms);

    std::string id_, version_, authorization_;
    bool broken_;
    std::mt19937_64 rng_;
    const World& world_;
    // Keyed by creation order, not by id: ids embed the wall-clock time, and picking by id
    // order would make the choices depend on timing instead of on the seed alone.
    std::map<std::uint64_t, Entity> own_;
    std::map<std::string, std::uint64_t> own_index_;
    std::uint64_t own_seq_ = 0;
    int pull_limit_ = 500;
    std::map<std::string, std::int64_t> shared_versions_;
    std::vector<Sent> offline_;
    std::deque<Sent> history_;  // recently applied, for duplicate re-pushes
    std::optional<std::string> last_push_body_;
    std::vector<Sent> last_push_;
    std::optional<std::int64_t> cursor_;
    bool pull_pending_ = false;  // the last pull said has_more
    std::uint64_t counter_ = 0;
};

/// The push that creates the shared entities before the run (client "c-setup").
Request make_setup_push(const World& world, std::int64_t now_ms, std::uint64_t seed);

/// Count one request and the server's answer into `summary`.
void account(const Request& req, const std::string& client_id, const std::string& version, int status,
             const boost::json::value* body, double latency_ms, bool transport_error, Summary& summary);

}  // namespace fleet
