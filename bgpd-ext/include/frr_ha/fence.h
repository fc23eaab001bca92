/*
 * Fencing a hung partner in local mode: the process at the other end of the
 * HA channel's unix socket, held as a pidfd so that a pid the kernel reused
 * for another process is never signalled (core: ../../core/process_fence.hpp).
 */
#ifndef FRR_HA_FENCE_H
#define FRR_HA_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The process at the other end of a connected unix socket (the one that
 * connected, or the listener), as a pidfd (CLOEXEC): returns it and stores
 * its pid, or returns -1 and says why. Call it before the partner proves it
 * holds the key: a process that authenticates afterwards is alive, so the
 * pidfd is the partner's. */
int frr_ha_peer_pidfd(int sock, int *pid, char *why, size_t why_len);
/* SIGKILL through the pidfd. false and why when nothing was signalled (the
 * process is gone already: its pid may belong to another process now). */
bool frr_ha_pidfd_kill(int pidfd, char *why, size_t why_len);
/* Whether the pidfd's process has exited (never blocks). */
bool frr_ha_pidfd_exited(int pidfd);
/* Whether pid is a running process (not a zombie) named comm ("" or NULL:
 * any name). */
bool frr_ha_process_running(int pid, const char *comm);

/* The lease's fence in the kernel (dual-RP; core: ../../core/egress_fence.hpp):
 * an nftables table in this network namespace dropping every TCP segment
 * from or to `port` once the lease it was given has run out. Needs
 * CAP_NET_ADMIN for each call. NULL and why when it cannot be installed. */
struct frr_ha_egress_fence;
struct frr_ha_egress_fence *frr_ha_egress_fence_install(uint16_t port, char *why,
							size_t why_len);
/* Removes the table (segments pass again) and frees the fence. */
void frr_ha_egress_fence_remove(struct frr_ha_egress_fence *fence);
/* Segments pass for ms more (0: shut now). */
bool frr_ha_egress_fence_open_for(struct frr_ha_egress_fence *fence, uint32_t ms,
				  char *why, size_t why_len);
/* Segments pass until told otherwise. */
bool frr_ha_egress_fence_open(struct frr_ha_egress_fence *fence, char *why,
			      size_t why_len);
bool frr_ha_egress_fence_shut(struct frr_ha_egress_fence *fence, char *why,
			      size_t why_len);
/* Segments the kernel dropped since the install. */
uint64_t frr_ha_egress_fence_dropped(const struct frr_ha_egress_fence *fence);
/* The service addresses whose ARP (IPv4) and neighbour advertisements
 * (IPv6) this host sends only while the fence is open: `n` addresses
 * without their length (replaces the former list). What of those the
 * kernel dropped since the install. */
bool frr_ha_egress_fence_guard(struct frr_ha_egress_fence *fence, const char *const *addresses,
			       size_t n, char *why, size_t why_len);
uint64_t frr_ha_egress_fence_neighbor_dropped(const struct frr_ha_egress_fence *fence);
/* The connections a killed bgpd left on the port (orphans) that install
 * destroyed behind the shut fence; why it could not, in why (empty: it
 * could, or there was no table left behind). */
uint64_t frr_ha_egress_fence_orphans_destroyed(const struct frr_ha_egress_fence *fence, char *why,
					       size_t why_len);
/* Whether install removed the hold (NFQUEUE tables) a bgpd killed as active
 * left: it kept every segment of the sessions it held from leaving, and a
 * session continued back onto this host has the same 4-tuple. */
bool frr_ha_egress_fence_left_hold_removed(const struct frr_ha_egress_fence *fence);
/* The connections closed on this host while the fence is shut (orphans on
 * the port: a frozen active's, closed once thawed, before it stepped down)
 * destroyed, behind the fence (a deadline past shuts it first): how many,
 * and in text which ("addr:port > addr:port state", comma-separated); or -1
 * and in text why (an open fence refuses: their RST would leave). */
int64_t frr_ha_egress_fence_destroy_orphans(struct frr_ha_egress_fence *fence, char *text,
					    size_t text_len);
/* Whether no segment passes now (shut, or its deadline past). */
bool frr_ha_egress_fence_is_shut(const struct frr_ha_egress_fence *fence);

#ifdef __cplusplus
}
#endif

#endif /* FRR_HA_FENCE_H */
