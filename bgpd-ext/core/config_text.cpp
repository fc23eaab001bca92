#include "config_text.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace frr_ha::config {

namespace {

bool starts_with(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

std::string_view first_word(std::string_view s)
{
    return s.substr(0, s.find(' '));
}

// Top-level lines that describe one RP rather than the routing both share.
bool rp_own_line(std::string_view text)
{
    static constexpr std::array<std::string_view, 8> words{
        "frr", "hostname", "domainname", "log", "service", "password", "enable", "debug"};
    if (starts_with(text, "no "))
        text.remove_prefix(3);
    const std::string_view word = first_word(text);
    for (std::string_view w : words)
        if (word == w)
            return true;
    return false;
}

bool dropped(std::string_view text, std::size_t indent)
{
    if (text.empty() || text[0] == '!' || text == "end" || text == "exit" ||
        starts_with(text, "exit-"))
        return true;
    if (indent > 0)
        return false;
    // "bgp no-rib": the pair holds every RP but the active with it (no
    // route goes to zebra from a standby); it is the role's, not shared.
    return text == "Building configuration..." || text == "Current configuration:" ||
           text == "bgp no-rib" || text == "no bgp no-rib" || rp_own_line(text);
}

// One element of the configuration tree.
struct Node {
    std::string text;  // without its indentation
    std::vector<Node> children;
    // Set by mark(): only this side has it (or it is out of order), so the
    // script removes it from `here` or adds it from `wanted`.
    bool changed = false;
};

Node parse(std::string_view comparable_text)
{
    Node root;
    // The open headers, with their indentation; only the last one gets
    // children, so the pointers stay valid.
    std::vector<std::pair<std::size_t, Node *>> open{{0, &root}};
    std::size_t pos = 0;
    while (pos < comparable_text.size()) {
        std::size_t end = comparable_text.find('\n', pos);
        if (end == std::string_view::npos)
            end = comparable_text.size();
        std::string_view line = comparable_text.substr(pos, end - pos);
        pos = end + 1;
        const std::size_t indent = line.find_first_not_of(' ');
        if (indent == std::string_view::npos)
            continue;
        // Shifted by one so that the root (0) is above every top-level line.
        while (open.size() > 1 && open.back().first >= indent + 1)
            open.pop_back();
        Node &parent = *open.back().second;
        parent.children.push_back(Node{std::string(line.substr(indent)), {}, false});
        open.emplace_back(indent + 1, &parent.children.back());
    }
    return root;
}

// A line after which the vty is in a node of its own, whether or not FRR
// printed lines under it (an empty "route-map RM deny 20").
bool opens_node(const Node &n)
{
    static constexpr std::array<std::string_view, 7> headers{
        "router ", "route-map ", "address-family ", "vni ", "bmp targets ", "segment-routing ",
        "vrf "};
    if (!n.children.empty())
        return true;
    for (std::string_view h : headers)
        if (starts_with(n.text, h))
            return true;
    return false;
}

// FRR has no "no address-family": such a block is emptied line by line.
bool negatable(const Node &n)
{
    return !starts_with(n.text, "address-family ");
}

std::string negation(std::string_view text)
{
    if (starts_with(text, "no "))
        return std::string(text.substr(3));
    return "no " + std::string(text);
}

std::string_view closer(const Node &header)
{
    return starts_with(header.text, "address-family ") ? "exit-address-family" : "exit";
}

void mark_all(Node &n)
{
    n.changed = true;
    for (Node &c : n.children)
        mark_all(c);
}

// Marks what differs between two lists of siblings, and below them.
//
// Order: FRR prints some lists in creation order (route-maps, prefix-list
// names, the pair's RPs) and sorts others (neighbors, community lists); an
// added element lands at the end of a creation-order list. So the shared
// elements that already come in `wanted`'s order, from its beginning, stay;
// from the first one out of order on, they are removed and added again, which
// puts them at the end in `wanted`'s order. A sorted list is never out of
// order, so nothing moves there. Lists are told apart by their first word
// (FRR prints each kind in a fixed place), so prefix-lists out of order move
// no route-map. An address-family cannot move (and FRR prints them in a
// fixed order).
void mark(std::vector<Node> &here, std::vector<Node> &wanted)
{
    std::unordered_map<std::string_view, std::vector<std::size_t>> in_here;
    for (std::size_t i = here.size(); i-- > 0;)
        in_here[here[i].text].push_back(i);  // last is the first unused

    struct Order {
        std::size_t last_kept = 0;
        bool kept_any = false;
        bool broken = false;
    };
    std::unordered_map<std::string_view, Order> orders;
    std::vector<bool> here_matched(here.size(), false);
    for (Node &w : wanted) {
        auto found = in_here.find(w.text);
        if (found == in_here.end() || found->second.empty()) {
            mark_all(w);
            continue;
        }
        const std::size_t h = found->second.back();
        found->second.pop_back();
        here_matched[h] = true;
        if (negatable(w)) {
            Order &order = orders[first_word(w.text)];
            if (order.kept_any && h < order.last_kept)
                order.broken = true;
            if (order.broken) {
                mark_all(w);
                mark_all(here[h]);
                continue;
            }
            order.last_kept = h;
            order.kept_any = true;
        }
        mark(here[h].children, w.children);
    }
    for (std::size_t i = 0; i < here.size(); i++)
        if (!here_matched[i])
            mark_all(here[i]);
}

// Writes script lines, entering and leaving blocks as they are needed.
class Script {
public:
    // Moves the vty to the block under the headers `path`.
    void go_to(const std::vector<const Node *> &path)
    {
        std::size_t common = 0;
        while (common < path.size() && common < entered_.size() &&
               path[common]->text == entered_[common]->text)
            common++;
        while (entered_.size() > common) {
            lines_.emplace_back(closer(*entered_.back()));
            entered_.pop_back();
        }
        for (std::size_t i = common; i < path.size(); i++) {
            lines_.push_back(path[i]->text);
            entered_.push_back(path[i]);
        }
    }

    void emit(std::string line) { lines_.push_back(std::move(line)); }
    void entered(const Node *header) { entered_.push_back(header); }

    std::vector<std::string> finish()
    {
        go_to({});
        return std::move(lines_);
    }

private:
    std::vector<std::string> lines_;
    std::vector<const Node *> entered_;
};

// "route-map NAME permit|deny SEQ" -> NAME, else "".
std::string_view route_map_name(std::string_view text)
{
    if (!starts_with(text, "route-map "))
        return {};
    text.remove_prefix(10);
    return first_word(text);
}

// The route-maps all of whose entries go. They are removed by name: FRR
// keeps the place of a route-map whose entries were removed one by one, so
// only "no route-map NAME" lets it be added again at the end.
std::set<std::string_view> route_maps_removed(const std::vector<Node> &top)
{
    std::set<std::string_view> names, kept;
    for (const Node &n : top) {
        const std::string_view name = route_map_name(n.text);
        if (!name.empty())
            (n.changed ? names : kept).insert(name);
    }
    for (std::string_view name : kept)
        names.erase(name);
    return names;
}

// Last line first, so that what a line depends on (a neighbor's remote-as,
// a default instance under its VRF instances) goes after it.
void removals(const std::vector<Node> &nodes, std::vector<const Node *> &path, Script &s)
{
    const std::set<std::string_view> gone =
        path.empty() ? route_maps_removed(nodes) : std::set<std::string_view>{};
    std::set<std::string_view> said;
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
        const Node &n = *it;
        const std::string_view route_map = path.empty() ? route_map_name(n.text) : "";
        if (n.changed && gone.count(route_map)) {
            if (said.insert(route_map).second) {
                s.go_to(path);
                s.emit("no route-map " + std::string(route_map));
            }
            continue;
        }
        if (n.changed && (!opens_node(n) || negatable(n))) {
            s.go_to(path);
            s.emit(negation(n.text));
            continue;
        }
        path.push_back(&n);
        removals(n.children, path, s);
        path.pop_back();
    }
}

void additions(const std::vector<Node> &nodes, std::vector<const Node *> &path, Script &s)
{
    for (const Node &n : nodes) {
        if (n.changed) {
            s.go_to(path);
            s.emit(n.text);
            if (opens_node(n))
                s.entered(&n);
        }
        path.push_back(&n);
        additions(n.children, path, s);
        path.pop_back();
    }
}

void list_changed(const std::vector<Node> &nodes, std::string_view sign, const std::string &above,
                  std::vector<std::string> &out)
{
    for (const Node &n : nodes) {
        const std::string here = above.empty() ? n.text : above + " > " + n.text;
        if (n.changed)
            out.push_back(std::string(sign) + here);
        list_changed(n.children, sign, here, out);
    }
}

struct Marked {
    Node here;
    Node wanted;
};

Marked marked(std::string_view here, std::string_view wanted)
{
    Marked m{parse(comparable(here)), parse(comparable(wanted))};
    mark(m.here.children, m.wanted.children);
    return m;
}

}  // namespace

std::string comparable(std::string_view running_config)
{
    std::string out;
    bool in_line_block = false;
    std::size_t pos = 0;
    while (pos < running_config.size()) {
        std::size_t end = running_config.find('\n', pos);
        if (end == std::string_view::npos)
            end = running_config.size();
        std::string_view line = running_config.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        const std::size_t indent = line.find_first_not_of(' ');
        if (indent == std::string_view::npos)
            continue;
        const std::string_view text = line.substr(indent);
        if (indent == 0)
            in_line_block = first_word(text) == "line";
        if (in_line_block || dropped(text, indent))
            continue;
        out.append(line).push_back('\n');
    }
    return out;
}

std::string digest(std::string_view comparable_text)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(comparable_text.data(), comparable_text.size(), md, &md_len, EVP_sha256(),
                    nullptr))
        throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * md_len);
    for (unsigned int i = 0; i < md_len; i++) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 0xf]);
    }
    return out;
}

std::vector<std::string> differing_lines(std::string_view here, std::string_view wanted)
{
    const Marked m = marked(here, wanted);
    std::vector<std::string> out;
    list_changed(m.here.children, "- ", "", out);
    list_changed(m.wanted.children, "+ ", "", out);
    return out;
}

std::vector<std::string> adoption_script(std::string_view here, std::string_view wanted)
{
    const Marked m = marked(here, wanted);
    std::vector<const Node *> path;
    Script script;
    removals(m.here.children, path, script);
    script.go_to({});
    additions(m.wanted.children, path, script);
    return script.finish();
}

}  // namespace frr_ha::config
