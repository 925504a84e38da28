#pragma once
// Human-readable output: aligned tables and the short forms of times, durations and JSON
// values that fit in a table cell.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "tether/clock.hpp"

namespace tether::cli {

enum class Align { left, right };

struct Column {
    std::string title;
    Align align = Align::left;
    std::size_t max_width = 40;  ///< longer cells are cut with "..." (0 = never cut)
};

/// Columns separated by two spaces, titles upper-case as given, no trailing blanks.
/// Widths count UTF-8 code points; control characters in cells are shown as '?'.
class Table {
public:
    explicit Table(std::vector<Column> columns);
    void add(std::vector<std::string> row);  ///< as many cells as columns
    bool empty() const noexcept { return rows_.empty(); }
    std::size_t size() const noexcept { return rows_.size(); }
    /// `titles` false: rows only (key/value listings).
    void print(std::ostream& out, bool titles = true) const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

/// "2026-11-24T10:00:00Z" (seconds; the full precision is in --json).
std::string short_time(Micros t);
std::string short_time(std::optional<Micros> t);
/// Milliseconds with up to three decimals, trailing zeros dropped: "0.186", "12", "1500.5".
std::string millis(double ms);
std::string millis_from_us(Micros us);
/// A percentage with one decimal: "19.6%".
std::string percent(double p);
/// One-line printable form of a cell value: control characters become '?'.
std::string printable(std::string_view text);
/// "a, b, c" ("-" when empty).
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");
/// A value that may be empty: "-" when it is.
std::string or_dash(std::string_view text);

}  // namespace tether::cli
