#pragma once
// The dashboard UI, embedded at build time (cmake/TetherEmbedAssets.cmake generates the
// table from adapters/beast/ui/). Looked up by file name; never touches the file system.
#include <cstddef>
#include <string>
#include <string_view>

namespace tether::beast::detail {

struct EmbeddedAsset {
    const char* name;  ///< file name, no folders ("app.js")
    const char* data;
    std::size_t size;
    const char* etag;  ///< strong ETag, quoted
};

extern const EmbeddedAsset embedded_assets[];
extern const std::size_t embedded_asset_count;

/// The asset called `name`, or nullptr (also for anything with a '/' or "..").
const EmbeddedAsset* find_asset(std::string_view name) noexcept;

/// Content-Type for a file name, from its extension.
std::string_view content_type_of(std::string_view name) noexcept;

/// index.html with its {{PREFIX}} placeholder replaced by the HTML-attribute-escaped prefix.
std::string render_index(std::string_view prefix);

}  // namespace tether::beast::detail
