#include "nfqueue_rule.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>
extern "C" {
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
}

namespace frr_ha {

namespace {

struct RuleFree {
    void operator()(nftnl_rule *r) const { nftnl_rule_free(r); }
};
struct SocketClose {
    void operator()(mnl_socket *s) const { mnl_socket_close(s); }
};

std::string failed(const char *step)
{
    return std::string("NFQUEUE rule: ") + step + ": " + std::strerror(errno);
}

}  // namespace

Status append_queue_rule(std::uint8_t family, const std::string &table, const std::string &chain,
                         std::uint16_t queue)
{
    std::unique_ptr<nftnl_rule, RuleFree> rule(nftnl_rule_alloc());
    nftnl_expr *target = nftnl_expr_alloc("target");
    if (!rule || !target) {
        if (target)
            nftnl_expr_free(target);
        return Status::fail("NFQUEUE rule: out of memory");
    }
    nftnl_rule_set_u32(rule.get(), NFTNL_RULE_FAMILY, family);
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, chain.c_str());
    nftnl_expr_set_str(target, NFTNL_EXPR_TG_NAME, "NFQUEUE");
    nftnl_expr_set_u32(target, NFTNL_EXPR_TG_REV, 3);
    // libnftnl takes the target's info as a malloc'd block it frees itself.
    auto *info = static_cast<xt_NFQ_info_v3 *>(std::calloc(1, sizeof(xt_NFQ_info_v3)));
    if (!info) {
        nftnl_expr_free(target);
        return Status::fail("NFQUEUE rule: out of memory");
    }
    info->queuenum = queue;
    info->queues_total = 1;
    nftnl_expr_set(target, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
    nftnl_rule_add_expr(rule.get(), target);  // the rule owns it now

    // One batch: begin, the rule, end; the kernel acknowledges the rule.
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    std::uint32_t seq = static_cast<std::uint32_t>(std::time(nullptr));
    mnl_nlmsg_batch *batch = mnl_nlmsg_batch_start(buf.data(), buf.size());
    nftnl_batch_begin(static_cast<char *>(mnl_nlmsg_batch_current(batch)), seq++);
    mnl_nlmsg_batch_next(batch);
    const std::uint32_t rule_seq = seq++;
    nlmsghdr *nlh = nftnl_rule_nlmsg_build_hdr(static_cast<char *>(mnl_nlmsg_batch_current(batch)),
                                               NFT_MSG_NEWRULE, family,
                                               NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, rule_seq);
    nftnl_rule_nlmsg_build_payload(nlh, rule.get());
    mnl_nlmsg_batch_next(batch);
    nftnl_batch_end(static_cast<char *>(mnl_nlmsg_batch_current(batch)), seq++);
    mnl_nlmsg_batch_next(batch);
    const std::size_t length = mnl_nlmsg_batch_size(batch);
    const void *head = mnl_nlmsg_batch_head(batch);

    std::unique_ptr<mnl_socket, SocketClose> nl(mnl_socket_open(NETLINK_NETFILTER));
    Status result = Status::ok();
    if (!nl)
        result = Status::fail(failed("netlink socket"));
    else if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        result = Status::fail(failed("netlink bind"));
    else if (mnl_socket_sendto(nl.get(), head, length) < 0)
        result = Status::fail(failed("send"));
    mnl_nlmsg_batch_stop(batch);
    if (!result)
        return result;

    const unsigned portid = mnl_socket_get_portid(nl.get());
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
        if (n < 0)
            return Status::fail(failed("receive"));
        const int run = mnl_cb_run(buf.data(), n, rule_seq, portid, nullptr, nullptr);
        if (run < 0)
            return Status::fail(failed("the kernel refused it"));
        if (run == MNL_CB_STOP)
            return Status::ok();
    }
}

}  // namespace frr_ha
