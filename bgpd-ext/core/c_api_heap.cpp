// The C boundary of the heap's give-back (include/frr_ha/heap.h).
#include "frr_ha/heap.h"

#include "heap_give_back.hpp"

#include <memory>

struct frr_ha_heap {
    frr_ha::HeapGiveBack give_back;
};

frr_ha_heap *frr_ha_heap_new(void)
{
    return std::make_unique<frr_ha_heap>().release();  // owned by the C caller until _free
}

void frr_ha_heap_free(frr_ha_heap *heap)
{
    std::unique_ptr<frr_ha_heap> owned(heap);
}

bool frr_ha_heap_tick(frr_ha_heap *heap, frr_ha_heap_gave_back *out)
{
    if (!heap->give_back.worth_it(frr_ha::HeapGiveBack::read()))
        return false;
    const auto g = heap->give_back.give_back();
    *out = frr_ha_heap_gave_back{g.rss_before, g.rss_after, g.ms};
    return true;
}
