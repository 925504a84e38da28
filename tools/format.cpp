#include "format.hpp"

#include <cmath>
#include <cstdio>

namespace tether::cli {

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::size_t display_width(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if (!is_continuation(c)) ++n;
    return n;
}

// The first `width` code points of `s`.
std::string_view prefix_points(std::string_view s, std::size_t width) {
    std::size_t points = 0, i = 0;
    for (; i < s.size(); ++i) {
        if (!is_continuation(static_cast<unsigned char>(s[i]))) {
            if (points == width) break;
            ++points;
        }
    }
    return s.substr(0, i);
}

std::string fit(std::string_view cell, std::size_t max_width) {
    if (max_width == 0 || display_width(cell) <= max_width) return std::string(cell);
    if (max_width <= 3) return std::string(prefix_points(cell, max_width));
    return std::string(prefix_points(cell, max_width - 3)) + "...";
}

}  // namespace

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add(std::vector<std::string> row) {
    row.resize(columns_.size());
    for (std::size_t i = 0; i < row.size(); ++i) row[i] = fit(printable(row[i]), columns_[i].max_width);
    rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out, bool titles) const {
    std::vector<std::size_t> widths(columns_.size());
    for (std::size_t i = 0; i < columns_.size(); ++i) widths[i] = display_width(columns_[i].title);
    for (const auto& row : rows_)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
    auto line = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            const std::size_t pad = widths[i] - display_width(cells[i]);
            if (i) text += "  ";
            if (columns_[i].align == Align::right) text.append(pad, ' ');
            text += cells[i];
            if (columns_[i].align == Align::left) text.append(pad, ' ');
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out << text << '\n';
    };
    if (titles) {
        std::vector<std::string> names;
        for (const auto& c : columns_) names.push_back(c.title);
        line(names);
    }
    for (const auto& row : rows_) line(row);
}

std::string short_time(Micros t) {
    std::string iso = format_iso8601(t);  // 2026-11-24T10:00:00.000123Z
    if (auto dot = iso.find('.'); dot != std::string::npos) iso = iso.substr(0, dot) + "Z";
    return iso;
}

std::string short_time(std::optional<Micros> t) { return t ? short_time(*t) : std::string("-"); }

std::string millis(double ms) {
    if (!std::isfinite(ms)) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", ms);
    std::string s = buf;
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s == "-0" ? "0" : s;
}

std::string millis_from_us(Micros us) { return millis(static_cast<double>(us) / 1000.0); }

std::string percent(double p) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f%%", std::isfinite(p) ? p : 0.0);
    return buf;
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    return out;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    if (items.empty()) return "-";
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += separator;
        out += items[i];
    }
    return out;
}

std::string or_dash(std::string_view text) { return text.empty() ? std::string("-") : std::string(text); }

}  // namespace tether::cli
