// tether_doc_snippets: compiles every ```cpp block of the given Markdown files, so that a
// documentation example cannot rot (CTest: "docs: every C++ snippet compiles"). The
// conventions (how a block becomes a translation unit) are in tests/docs/README.md.
//
//   tether_doc_snippets --root DIR --work DIR [--jobs N] [--prelude HEADER] FILE.md… -- COMPILER ARGS…
//
// FILEs are relative to --root and are named that way in messages; each block is written to
// --work as one .cpp file and compiled with `COMPILER ARGS… -fsyntax-only FILE.cpp`. `#line`
// directives make the compiler report errors at the Markdown file's own lines. Exit status:
// 0 when every block compiles, 1 when one does not (or a marker is malformed), 2 for usage.
// With --prelude (tests/docs/snippet_prelude.hpp, found through ARGS' -I) it is precompiled
// once into --work: Boost.Beast makes each block take seconds to parse otherwise.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

enum class Kind { fragment, declarations, file, skip };

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::fragment: return "fragment";
        case Kind::declarations: return "declarations";
        case Kind::file: return "file";
        case Kind::skip: return "skip";
    }
    return "?";
}

struct Snippet {
    std::string doc;          // as given on the command line, e.g. docs/integration.md
    std::size_t fence_line;   // 1-based line of the opening ```cpp
    std::vector<std::string> lines;
    Kind kind = Kind::fragment;
    std::string skip_reason;
    std::string tu_path;
    bool ok = false;
    std::string output;
};

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// "<!-- snippet: KIND -->" or "<!-- snippet: skip (reason) -->".
struct Marker {
    Kind kind;
    std::string reason;
};

std::optional<Marker> parse_marker(const std::string& line, std::string& error) {
    const std::string t = trim(line);
    if (!starts_with(t, "<!-- snippet:")) return std::nullopt;
    if (t.size() < 4 || t.compare(t.size() - 3, 3, "-->") != 0) {
        error = "a snippet marker must be one line: <!-- snippet: KIND -->";
        return std::nullopt;
    }
    const std::string body = trim(t.substr(13, t.size() - 13 - 3));
    if (body == "fragment") return Marker{Kind::fragment, {}};
    if (body == "declarations") return Marker{Kind::declarations, {}};
    if (body == "file") return Marker{Kind::file, {}};
    if (starts_with(body, "skip")) {
        const std::string rest = trim(body.substr(4));
        if (rest.size() > 2 && rest.front() == '(' && rest.back() == ')' && !trim(rest.substr(1, rest.size() - 2)).empty())
            return Marker{Kind::skip, trim(rest.substr(1, rest.size() - 2))};
        error = "'skip' needs a reason: <!-- snippet: skip (why this block cannot compile) -->";
        return std::nullopt;
    }
    error = "unknown snippet kind '" + body + "' (expected fragment, declarations, file or skip (reason))";
    return std::nullopt;
}

bool is_fence(const std::string& line) { return starts_with(trim(line), "```"); }

// Extracts the ```cpp blocks of one file; problems (malformed or stray markers, unclosed
// fences) are appended to `errors` as "file:line: message".
std::vector<Snippet> extract(const fs::path& root, const std::string& doc, std::vector<std::string>& errors) {
    std::ifstream in(root / doc);
    if (!in) {
        errors.push_back(doc + ": cannot be read");
        return {};
    }
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);

    std::vector<Snippet> out;
    std::optional<Marker> pending;
    std::size_t pending_line = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string t = trim(lines[i]);
        std::string error;
        if (auto m = parse_marker(lines[i], error)) {
            if (pending) errors.push_back(doc + ":" + std::to_string(pending_line) + ": snippet marker not followed by a ```cpp block");
            pending = m;
            pending_line = i + 1;
            continue;
        }
        if (!error.empty()) {
            errors.push_back(doc + ":" + std::to_string(i + 1) + ": " + error);
            continue;
        }
        if (!is_fence(lines[i])) {
            if (!t.empty() && pending) {
                errors.push_back(doc + ":" + std::to_string(pending_line) + ": snippet marker not followed by a ```cpp block");
                pending.reset();
            }
            continue;
        }
        // A fence: find its end (a line of backticks only, at least as long as the opener).
        const std::size_t ticks = std::min(t.find_first_not_of('`'), t.size());
        const std::string info = trim(t.substr(ticks));
        const std::size_t indent = lines[i].find_first_not_of(" \t");
        std::size_t end = i + 1;
        while (end < lines.size()) {
            const std::string e = trim(lines[end]);
            if (e.size() >= ticks && e.find_first_not_of('`') == std::string::npos) break;
            ++end;
        }
        if (end == lines.size()) {
            errors.push_back(doc + ":" + std::to_string(i + 1) + ": code fence is never closed");
            return out;
        }
        if (info == "cpp" || info == "c++") {
            Snippet s;
            s.doc = doc;
            s.fence_line = i + 1;
            for (std::size_t k = i + 1; k < end; ++k) {  // without the fence's own indentation
                std::size_t cut = 0;
                while (cut < indent && cut < lines[k].size() && (lines[k][cut] == ' ' || lines[k][cut] == '\t')) ++cut;
                s.lines.push_back(lines[k].substr(cut));
            }
            bool has_main = false;
            for (const auto& l : s.lines)
                if (l.find("int main(") != std::string::npos) has_main = true;
            s.kind = pending ? pending->kind : (has_main ? Kind::file : Kind::fragment);
            if (pending) s.skip_reason = pending->reason;
            out.push_back(std::move(s));
        } else if (pending) {
            errors.push_back(doc + ":" + std::to_string(pending_line) + ": snippet marker on a ```" + info +
                             " block (only ```cpp blocks are compiled)");
        }
        pending.reset();
        i = end;
    }
    if (pending) errors.push_back(doc + ":" + std::to_string(pending_line) + ": snippet marker not followed by a ```cpp block");
    return out;
}

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// The translation unit of one snippet. Every line of the block keeps its Markdown line
// number (#line), so compiler messages point into the document.
std::string translation_unit(const Snippet& s, const fs::path& root) {
    const std::string where = "\"" + (root / s.doc).string() + "\"";
    const std::size_t first = s.fence_line + 1;
    std::ostringstream tu;
    tu << "// " << s.doc << ":" << s.fence_line << " (" << kind_name(s.kind) << "), generated by tether_doc_snippets\n";
    if (s.kind == Kind::file) {
        tu << "#line " << first << " " << where << "\n";
        for (const auto& l : s.lines) tu << l << "\n";
        return tu.str();
    }
    tu << "#include \"snippet_prelude.hpp\"\n";
    // The block's #include lines go first, at namespace scope; they keep their line numbers.
    for (std::size_t k = 0; k < s.lines.size(); ++k)
        if (starts_with(trim(s.lines[k]), "#include"))
            tu << "#line " << first + k << " " << where << "\n" << s.lines[k] << "\n";
    if (s.kind == Kind::fragment) tu << "void tether_doc_snippet() {\n";
    tu << "#line " << first << " " << where << "\n";
    for (const auto& l : s.lines) tu << (starts_with(trim(l), "#include") ? std::string() : l) << "\n";
    if (s.kind == Kind::fragment) tu << "}\n";
    return tu.str();
}

int usage() {
    std::cerr << "usage: tether_doc_snippets --root DIR --work DIR [--jobs N] [--prelude HEADER] FILE.md... -- "
                 "COMPILER ARGS...\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    fs::path root, work, prelude;
    unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::string> docs, compiler;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if ((a == "--root" || a == "--work" || a == "--jobs" || a == "--prelude") && i + 1 >= argc) return usage();
        if (a == "--root") root = argv[++i];
        else if (a == "--work") work = argv[++i];
        else if (a == "--prelude") prelude = argv[++i];
        else if (a == "--jobs") jobs = static_cast<unsigned>(std::max(1, std::atoi(argv[++i])));
        else if (starts_with(a, "--")) return usage();
        else docs.push_back(a);
    }
    for (; i < argc; ++i) compiler.push_back(argv[i]);
    if (root.empty() || work.empty() || docs.empty() || compiler.empty()) return usage();

    std::vector<std::string> errors;
    std::vector<Snippet> snippets;
    for (const auto& d : docs) {
        auto found = extract(root, d, errors);
        std::move(found.begin(), found.end(), std::back_inserter(snippets));
    }
    fs::remove_all(work);
    fs::create_directories(work);

    std::vector<Snippet*> todo;
    std::map<std::string, int> serial;
    for (auto& s : snippets) {
        std::string stem = fs::path(s.doc).stem().string();
        s.tu_path = (work / (stem + "-" + std::to_string(++serial[s.doc]) + "-line" + std::to_string(s.fence_line) + ".cpp")).string();
        if (s.kind == Kind::skip) continue;
        std::ofstream(s.tu_path) << translation_unit(s, root);
        todo.push_back(&s);
    }

    std::string base;
    for (const auto& c : compiler) base += quote(c) + " ";
    auto run = [](const std::string& cmd, std::string& output) {
        output.clear();
        FILE* p = popen((cmd + " 2>&1").c_str(), "r");
        if (!p) return false;
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, n);
        return pclose(p) == 0;
    };
    // The TUs include "snippet_prelude.hpp"; the compiler looks in their own folder first, so
    // a usable .gch there wins, and the header itself is found through -I otherwise.
    const fs::path pch = work / "snippet_prelude.hpp.gch";
    const bool any_prelude = std::any_of(todo.begin(), todo.end(), [](const Snippet* s) { return s->kind != Kind::file; });
    if (!prelude.empty() && any_prelude) {
        std::string output;
        if (!run(base + "-x c++-header " + quote(prelude.string()) + " -o " + quote(pch.string()), output)) {
            std::cout << "note: precompiling " << prelude.string() << " failed; compiling without it\n" << output;
            fs::remove(pch);
        }
    }
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t k; (k = next++) < todo.size();) {
            Snippet& s = *todo[k];
            s.ok = run(base + "-fsyntax-only " + quote(s.tu_path), s.output);
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < std::min<std::size_t>(jobs, todo.size()); ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    fs::remove(pch);  // hundreds of MB; rebuilt on every run anyway

    // Report: failures with the compiler's words, then one line per file.
    std::size_t failed = 0, compiled = 0, skipped = 0;
    for (const auto& s : snippets) {
        if (s.kind == Kind::skip || s.ok) continue;
        ++failed;
        std::cout << "FAIL " << s.doc << ":" << s.fence_line << " (" << kind_name(s.kind) << ", " << s.tu_path
                  << ")\n"
                  << s.output << "\n";
    }
    for (const auto& d : docs) {
        std::map<std::string, int> by_kind;
        int n = 0, bad = 0;
        std::string skips;
        for (const auto& s : snippets) {
            if (s.doc != d) continue;
            if (s.kind == Kind::skip) {
                skips += "\n    skipped " + d + ":" + std::to_string(s.fence_line) + ": " + s.skip_reason;
                ++skipped;
                continue;
            }
            ++n;
            ++compiled;
            ++by_kind[kind_name(s.kind)];
            if (!s.ok) ++bad;
        }
        std::cout << d << ": " << n << " snippet" << (n == 1 ? "" : "s") << " compiled";
        std::string kinds;
        for (const auto& [k, c] : by_kind) kinds += (kinds.empty() ? "" : ", ") + std::to_string(c) + " " + k;
        if (!kinds.empty()) std::cout << " (" << kinds << ")";
        if (bad) std::cout << ", " << bad << " failed";
        std::cout << skips << "\n";
    }
    for (const auto& e : errors) std::cout << "ERROR " << e << "\n";
    std::cout << "total: " << compiled << " compiled, " << failed << " failed, " << skipped << " skipped"
              << (errors.empty() ? "" : ", " + std::to_string(errors.size()) + " marker error(s)") << "\n";
    if (compiled == 0) {
        std::cout << "no ```cpp block found: nothing was checked\n";
        return 1;
    }
    return failed || !errors.empty() ? 1 : 0;
}
