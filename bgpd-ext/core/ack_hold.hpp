// The hold rule (docs/dual-rp.md, "The hold"): in dual-RP mode nothing the
// active's kernel acknowledges to a peer may be unknown to the standby, or
// the rebuilt connection would lack bytes the peer will never send again.
// The kernel acknowledges a segment as it arrives, long before bgpd reads
// it, so the active holds its own outgoing segments instead: each TCP
// segment it sends on a held connection goes to this process (an nftables
// rule queues it with NFQUEUE) and leaves only once the acknowledgement it
// carries covers no byte the standby has not confirmed. The peer's bytes
// are delivered to bgpd as usual; only their acknowledgement waits.
//
// Segments wait whole: a data segment whose ACK field is ahead of the
// standby waits too, and a segment waits behind those of its connection
// already waiting, so a connection's segments leave in the order its
// kernel sent them. Connections not held pass untouched (only held ones
// match the rule), and a process that dies leaves the rule without a
// reader: the kernel then drops what it would queue, so a dead active
// acknowledges nothing more (fail closed).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <deque>
#include <functional>
#include <unordered_map>

#include "result.hpp"

struct nfq_handle;
struct nfq_q_handle;
struct nfq_data;
struct nfgenmsg;
struct nft_ctx;

namespace frr_ha {

// A TCP connection as this host's segments name it. IPv4-mapped IPv6
// addresses are kept as IPv4: the segments are IPv4.
struct HeldConnection {
    int family = 0;  // AF_INET or AF_INET6
    std::uint8_t local[16] = {};
    std::uint8_t remote[16] = {};
    std::uint16_t local_port = 0;
    std::uint16_t remote_port = 0;

    // The connection of a connected TCP socket.
    static Result<HeldConnection> of_socket(int fd);
    bool operator==(const HeldConnection &o) const;
    std::string text() const;  // "192.0.2.1:179 > 192.0.2.2:40001"
};

struct HeldConnectionHash {
    std::size_t operator()(const HeldConnection &c) const;
};

class AckHold {
    struct Private {};  // only install() makes one

public:
    // The table's name, one per network namespace (one dual-RP bgpd each).
    static constexpr const char *kTable = "frr_ha_hold";

    // Installs the (empty) rule and binds NFQUEUE `queue`: a table left by
    // an earlier process (killed while holding) is replaced. Needs
    // CAP_NET_ADMIN.
    // The queue's callback keeps this object's address: it does not move.
    static Result<std::unique_ptr<AckHold>> install(std::uint16_t queue);

    // Removes the tables a killed holder left (true: there was one). They
    // queue, to a queue nobody reads, every segment of the 4-tuples they
    // held: a session continued back onto this host later keeps its
    // 4-tuple and would never be heard. Only for a process with no hold of
    // its own, once the killed one's connections are gone
    // (EgressFence::install). Needs CAP_NET_ADMIN.
    static Result<bool> remove_left_behind();

    explicit AckHold(Private) {}
    AckHold(const AckHold &) = delete;
    AckHold &operator=(const AckHold &) = delete;
    // Removes the table. What waits is dropped, never sent: the standby never
    // confirmed it. New segments pass.
    ~AckHold();

    // Holds `c`: from now on a segment whose ACK is after `confirmed` (a
    // receive sequence number: the standby has every byte before it)
    // waits. Refused for a connection already held.
    Status hold(const HeldConnection &c, std::uint32_t confirmed);
    // The standby has every byte before `confirmed`: what waited for it
    // leaves, in order. A sequence number not after the last is ignored.
    // False for a connection not held.
    bool confirm(const HeldConnection &c, std::uint32_t confirmed);
    // Stops holding `c`: what waits leaves now, in order, and the rule no
    // longer queues its segments. Refused for a connection not held.
    Status release(const HeldConnection &c);

    // Runs `call` with CAP_NET_ADMIN in effect (a daemon that keeps it off
    // otherwise, as FRR's do): the kernel checks it on every netlink
    // message, each verdict and set change included. None: as is.
    using Privileged = std::function<void(const std::function<void()> &call)>;
    void set_privileged(Privileged privileged) { privileged_ = std::move(privileged); }

    // The queue's descriptor, to poll for input; on_readable() takes what
    // the kernel queued, passing or holding each segment, without blocking.
    int fd() const;
    void on_readable();

    struct Counters {
        std::uint64_t queued = 0;          // segments the rule gave us
        std::uint64_t passed_at_once = 0;  // their ACK was confirmed already
        std::uint64_t held = 0;            // waited for a confirmation
        std::uint64_t released = 0;        // held, then sent
        std::uint64_t unknown = 0;         // queued for a connection not held: sent
        std::uint64_t lost = 0;            // the queue's socket overflowed
    };
    const Counters &counters() const { return counters_; }
    std::size_t waiting(const HeldConnection &c) const;
    // How long the oldest segment of `c` still waiting has waited since this
    // process took it from the queue (zero: none waits). What a standby host
    // slow to confirm costs the peer: the lag limit applies to it.
    std::chrono::milliseconds longest_wait(const HeldConnection &c,
                                           std::chrono::steady_clock::time_point now) const;
    bool holds(const HeldConnection &c) const { return held_.count(c) != 0; }
    std::size_t connections() const { return held_.size(); }

    struct CtxFree {
        void operator()(nft_ctx *ctx) const;
    };
    struct QueueClose {
        void operator()(nfq_handle *h) const;
    };

private:
    struct Waiting {
        std::uint32_t packet_id;
        std::uint32_t ack;
        bool has_ack;
        std::chrono::steady_clock::time_point since;  // taken from the queue
    };
    struct Held {
        std::uint32_t confirmed;
        std::deque<Waiting> waiting;  // in the order the kernel sent them
    };

    static int on_packet(nfq_q_handle *qh, nfgenmsg *msg, nfq_data *nfa, void *self);
    void take_queued();
    void take(std::uint32_t packet_id, const unsigned char *ip, int len);
    void pass(std::uint32_t packet_id);
    void pass_confirmed(Held &h);
    Status run(const std::string &commands) const;
    std::string element(const HeldConnection &c) const;
    void remove_table();

    std::unique_ptr<nft_ctx, CtxFree> ctx_;
    std::unique_ptr<nfq_handle, QueueClose> queue_;
    nfq_q_handle *queue_handle_ = nullptr;  // owned by queue_
    std::uint16_t queue_num_ = 0;
    bool table_installed_ = false;
    std::unordered_map<HeldConnection, Held, HeldConnectionHash> held_;
    void privileged(const std::function<void()> &call) const
    {
        if (privileged_)
            privileged_(call);
        else
            call();
    }

    Counters counters_;
    Privileged privileged_;
};

}  // namespace frr_ha
