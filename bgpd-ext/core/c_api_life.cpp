// The C boundary of the life page (include/frr_ha/life.h).
#include "frr_ha/life.h"

#include "life_lock.hpp"

#include <cstring>
#include <memory>

using frr_ha::LifeLock;

struct frr_ha_life {
    std::unique_ptr<LifeLock> page;
};

namespace {

void say(char *why, size_t why_len, const std::string &text)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", text.c_str());
}

LifeLock::Writer writer_of(frr_ha_life_writer writer)
{
    return writer == FRR_HA_LIFE_WRITER_IO ? LifeLock::Writer::Io : LifeLock::Writer::Main;
}

}  // namespace

frr_ha_life *frr_ha_life_open(const char *path, char *why, size_t why_len)
{
    auto page = LifeLock::open(path);
    if (!page) {
        say(why, why_len, page.why());
        return nullptr;
    }
    return new frr_ha_life{std::move(*page)};  // owned by the C caller until _free
}

void frr_ha_life_free(frr_ha_life *life)
{
    std::unique_ptr<frr_ha_life> owned(life);
}

bool frr_ha_life_hold(frr_ha_life *life, char *why, size_t why_len)
{
    frr_ha::Status held = life->page->hold();
    if (!held)
        say(why, why_len, held.why());
    return static_cast<bool>(held);
}

bool frr_ha_life_hold_writer(frr_ha_life *life, frr_ha_life_writer writer)
{
    return life->page->hold_writer(writer_of(writer));
}

void frr_ha_life_let_writer_go(frr_ha_life *life, frr_ha_life_writer writer)
{
    life->page->let_writer_go(writer_of(writer));
}

bool frr_ha_life_holding(const frr_ha_life *life)
{
    return life->page->state() == LifeLock::State::Holding;
}

void frr_ha_life_watch(frr_ha_life *life)
{
    life->page->watch();
}

void frr_ha_life_stop_watching(frr_ha_life *life)
{
    life->page->stop_watching();
}

int frr_ha_life_event_fd(const frr_ha_life *life)
{
    return life->page->event_fd();
}

int frr_ha_life_died_pid(const frr_ha_life *life)
{
    return static_cast<int>(life->page->died_pid());
}

uint64_t frr_ha_life_heard_at_us(const frr_ha_life *life)
{
    return life->page->heard_at_us();
}
