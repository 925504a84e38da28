// Names of the enums in exchange.hpp and records.hpp, and Exchange::byte_size.
#include "tether/exchange.hpp"

#include "tether/records.hpp"

namespace tether {
namespace {

template <class E, std::size_t N>
std::optional<E> lookup(const char* const (&names)[N], std::string_view s) noexcept {
    for (std::size_t i = 0; i < N; ++i)
        if (s == names[i]) return static_cast<E>(i);
    return std::nullopt;
}

template <std::size_t N>
const char* name_of(const char* const (&names)[N], std::size_t i) noexcept {
    return i < N ? names[i] : "unknown";
}

constexpr const char* kind_names[] = {"push", "pull"};
constexpr const char* resolution_names[] = {"server_wins", "client_wins", "merged", "rejected"};
constexpr const char* request_outcome_names[] = {"ok", "conflict", "rejected", "error"};
constexpr const char* mutation_outcome_names[] = {"applied", "rejected", "conflict", "unknown"};

}  // namespace

const char* to_string(ExchangeKind k) noexcept { return name_of(kind_names, static_cast<std::size_t>(k)); }
std::optional<ExchangeKind> parse_exchange_kind(std::string_view s) noexcept {
    return lookup<ExchangeKind>(kind_names, s);
}
const char* to_string(Resolution r) noexcept { return name_of(resolution_names, static_cast<std::size_t>(r)); }
std::optional<Resolution> parse_resolution(std::string_view s) noexcept {
    return lookup<Resolution>(resolution_names, s);
}
const char* to_string(RequestOutcome o) noexcept {
    return name_of(request_outcome_names, static_cast<std::size_t>(o));
}
std::optional<RequestOutcome> parse_request_outcome(std::string_view s) noexcept {
    return lookup<RequestOutcome>(request_outcome_names, s);
}
const char* to_string(MutationOutcome o) noexcept {
    return name_of(mutation_outcome_names, static_cast<std::size_t>(o));
}
std::optional<MutationOutcome> parse_mutation_outcome(std::string_view s) noexcept {
    return lookup<MutationOutcome>(mutation_outcome_names, s);
}

std::size_t Exchange::byte_size() const noexcept {
    // Capacity, not size: a body truncated in place still holds its original allocation.
    std::size_t n = sizeof(Exchange) + id.capacity() + client_id.capacity() + client_version.capacity() +
                    instance.capacity() + request_body.capacity() + response_body.capacity() + replay_of.capacity();
    for (const auto& h : headers) n += sizeof(Header) + h.name.size() + h.value.size();
    if (replay_audit) {
        n += sizeof(ReplayAudit) + replay_audit->by.size();
        for (const auto& c : replay_audit->mutation_id_map) n += sizeof(MutationIdChange) + c.from.size() + c.to.size();
        for (const auto& s : replay_audit->skipped)
            n += sizeof(SkippedMutation) + s.mutation_id.size() + s.reason.size();
    }
    for (const auto& t : traces) {
        n += sizeof(MutationTrace) + t.mutation_id.size() + t.state_before_json.size() + t.state_after_json.size();
        if (t.conflict)
            n += t.conflict->resolver.size() + t.conflict->server_state_json.size() + t.conflict->reason.size();
    }
    return n;
}

}  // namespace tether
