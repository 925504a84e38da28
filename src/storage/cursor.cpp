// Keyset cursors shared by every backend: URL-safe base64 (no padding) of "v1:<primary>:<id>".
// Decoding is strict so that a tampered or truncated cursor is a clear 400, never a wrong page.
#include <charconv>

#include "storage/keys.hpp"
#include "tether/errors.hpp"
#include "tether/storage.hpp"

namespace tether {
namespace {

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view version_prefix = "v1:";
// "v1:" + 20-char int64 + ":" + 64-char id, base64-expanded, with slack.
constexpr std::size_t max_cursor_chars = 160;

[[noreturn]] void bad_cursor(const std::string& what) {
    throw InvalidArgument("cursor", what + "; expected a next_cursor value returned by a previous page");
}

int b64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

std::string b64url_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) |
                 std::uint8_t(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out.push_back(b64_alphabet[(n >> s) & 63]);
    }
    if (std::size_t rest = in.size() - i) {
        std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
        if (rest == 2) n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        out.push_back(b64_alphabet[(n >> 18) & 63]);
        out.push_back(b64_alphabet[(n >> 12) & 63]);
        if (rest == 2) out.push_back(b64_alphabet[(n >> 6) & 63]);
    }
    return out;
}

std::string b64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) bad_cursor("has an impossible length");
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = b64_value(c);
        if (v < 0) bad_cursor("contains a character outside the URL-safe base64 alphabet");
        acc = (acc << 6) | std::uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char((acc >> bits) & 0xFF));
        }
    }
    // Leftover bits must be zero, otherwise two different texts would decode the same.
    if (acc & ((1u << bits) - 1)) bad_cursor("is not canonical base64");
    return out;
}

}  // namespace

std::string encode_cursor(const CursorKey& key) {
    return b64url_encode(std::string(version_prefix) + std::to_string(key.primary) + ":" + key.id);
}

CursorKey decode_cursor(std::string_view cursor) {
    if (cursor.empty()) bad_cursor("is empty");
    if (cursor.size() > max_cursor_chars) bad_cursor("is too long");
    const std::string text = b64url_decode(cursor);
    std::string_view rest(text);
    if (rest.substr(0, version_prefix.size()) != version_prefix) bad_cursor("has an unknown format or version");
    rest.remove_prefix(version_prefix.size());

    auto colon = rest.find(':');
    if (colon == std::string_view::npos) bad_cursor("is missing its id part");
    std::string_view num = rest.substr(0, colon);
    // Canonical integers only: no '+', no leading zeros, no "-0".
    bool canonical = !num.empty() && num != "-" && num != "-0" && num.front() != '+' &&
                     !(num.size() > 1 && num[0] == '0') && !(num.size() > 2 && num[0] == '-' && num[1] == '0');
    CursorKey key;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), key.primary);
    if (!canonical || ec != std::errc() || end != num.data() + num.size()) bad_cursor("has an invalid position");

    std::string_view id = rest.substr(colon + 1);
    if (!detail::is_pageable_id(id)) bad_cursor("has an id of invalid length or characters");
    key.id = std::string(id);
    return key;
}

void validate_page(const PageRequest& page) {
    if (page.limit < 1 || page.limit > PageRequest::max_limit)
        throw InvalidArgument("limit", "must be between 1 and " + std::to_string(PageRequest::max_limit) + ", got " +
                                           std::to_string(page.limit));
    if (!page.cursor.empty()) decode_cursor(page.cursor);
}

}  // namespace tether
