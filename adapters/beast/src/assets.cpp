#include "assets.hpp"

namespace tether::beast::detail {

const EmbeddedAsset* find_asset(std::string_view name) noexcept {
    if (name.empty() || name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos ||
        name.find("..") != std::string_view::npos)
        return nullptr;
    for (std::size_t i = 0; i < embedded_asset_count; ++i)
        if (name == embedded_assets[i].name) return &embedded_assets[i];
    return nullptr;
}

std::string_view content_type_of(std::string_view name) noexcept {
    auto ends_with = [&](std::string_view ext) {
        return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
    };
    // Module scripts are refused by browsers under any non-JavaScript type.
    if (ends_with(".js")) return "text/javascript; charset=utf-8";
    if (ends_with(".css")) return "text/css; charset=utf-8";
    if (ends_with(".html")) return "text/html; charset=utf-8";
    if (ends_with(".svg")) return "image/svg+xml";
    if (ends_with(".json")) return "application/json";
    if (ends_with(".png")) return "image/png";
    return "application/octet-stream";
}

std::string render_index(std::string_view prefix) {
    std::string escaped;
    for (char c : prefix) {
        switch (c) {
            case '&': escaped += "&amp;"; break;
            case '"': escaped += "&quot;"; break;
            case '<': escaped += "&lt;"; break;
            case '>': escaped += "&gt;"; break;
            case '\'': escaped += "&#39;"; break;
            default: escaped += c;
        }
    }
    const EmbeddedAsset* index = find_asset("index.html");
    if (!index) return {};
    std::string html(index->data, index->size);
    static constexpr std::string_view placeholder = "{{PREFIX}}";
    for (auto pos = html.find(placeholder); pos != std::string::npos; pos = html.find(placeholder, pos + escaped.size()))
        html.replace(pos, placeholder.size(), escaped);
    return html;
}

}  // namespace tether::beast::detail
