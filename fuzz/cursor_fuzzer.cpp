// Keyset cursors: tether::decode_cursor / encode_cursor / validate_page.
//
// Input: the cursor text as a client would send it.
//
// Properties: decoding either succeeds or throws InvalidArgument naming "cursor", nothing
// else; an accepted cursor re-encodes to exactly the same text (one text per position, so a
// tampered cursor cannot alias another page); any (position, id) built from the input
// round-trips through encode/decode; validate_page agrees with decode_cursor.
#include <cstring>

#include "fuzz_common.hpp"
#include "tether/errors.hpp"
#include "tether/storage.hpp"

using namespace tether;
namespace tf = tether::fuzz;
namespace json = boost::json;

namespace {

bool pageable(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '-'))
            return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    bool accepted = false;
    try {
        const CursorKey key = decode_cursor(input);
        accepted = true;
        FUZZ_CHECK(pageable(key.id), key.id);
        FUZZ_CHECK(encode_cursor(key) == input, "an accepted cursor does not re-encode to itself");
    } catch (const InvalidArgument& e) {
        FUZZ_CHECK(e.parameter() == "cursor", e.parameter());
        FUZZ_CHECK(std::strlen(e.what()) > 0);
    }

    PageRequest page;
    page.cursor = std::string(input);
    try {
        validate_page(page);
        FUZZ_CHECK(accepted || input.empty(), "validate_page accepted what decode_cursor refused");
    } catch (const InvalidArgument& e) {
        FUZZ_CHECK(!accepted, "validate_page refused an accepted cursor");
        FUZZ_CHECK(e.parameter() == "cursor");
    }

    // Any position and id from the input round-trip.
    if (size >= 8) {
        CursorKey key;
        std::memcpy(&key.primary, data, sizeof key.primary);
        key.id = std::string(input.substr(8, 64));
        const std::string text = encode_cursor(key);
        try {
            const CursorKey back = decode_cursor(text);
            FUZZ_CHECK(pageable(key.id), "a cursor with an unpageable id was accepted");
            FUZZ_CHECK(back.primary == key.primary && back.id == key.id, "encode/decode does not round-trip");
        } catch (const InvalidArgument& e) {
            FUZZ_CHECK(!pageable(key.id), std::string("a valid position and id do not round-trip: ") + e.what());
        }
    }
    return 0;
}
