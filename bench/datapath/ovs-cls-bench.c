/*
 * bench/datapath's own classifier workloads (5tuple, acl, l2 in cls-bench.ts) run against
 * Open vSwitch's classifier (lib/classifier.c), so that each TypeSwitch number has an OVS
 * counterpart built from the very same rules and lookups: the same xorshift32 generator is
 * drawn in the same order as in cls-bench.ts. Prefix tries on nw_dst and nw_src, as OVS's
 * OpenFlow tables have by default.
 *
 * Built by build-ovstest.sh against the libopenvswitch.a it builds (never part of CI).
 * Usage: ovs-cls-bench 5tuple|acl|l2 N_RULES [--quick]; prints one JSON line.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifier.h"
#include "flow.h"
#include "openvswitch/match.h"
#include "openvswitch/meta-flow.h"
#include "packets.h"
#include "util.h"

static uint32_t rng_state;

static void
rng_seed(uint32_t seed)
{
    rng_state = seed ? seed : 1;
}

static uint32_t
rng_next(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static uint32_t
rng_range(uint32_t n)
{
    return rng_next() % n;
}

static struct classifier cls;
static struct flow *lookups;
static size_t n_lookups, max_lookups;
static size_t n_rules;

static struct flow *
new_lookup(void)
{
    if (n_lookups == max_lookups) {
        max_lookups = max_lookups ? max_lookups * 2 : 1024;
        lookups = xrealloc(lookups, max_lookups * sizeof *lookups);
    }
    struct flow *f = &lookups[n_lookups++];
    memset(f, 0, sizeof *f);
    return f;
}

/* Inserts unless a rule with the same match and priority is there; true if inserted. */
static bool
add_rule(const struct match *m, int priority)
{
    struct cls_rule *r = xmalloc(sizeof *r);
    cls_rule_init(r, m, priority);
    if (classifier_find_rule_exactly(&cls, r, OVS_VERSION_MIN)) {
        cls_rule_destroy(r);
        free(r);
        return false;
    }
    classifier_insert(&cls, r, OVS_VERSION_MIN, NULL, 0);
    n_rules++;
    return true;
}

static size_t
lookup_step(size_t n)
{
    size_t s = n >> 13;
    return s ? s : 1;
}

static void
five_tuple(size_t n)
{
    rng_seed(7);
    for (size_t i = 0; i < n; i++) {
        struct match m;
        match_init_catchall(&m);
        uint32_t src = 0x0a000000 + rng_range(1u << 24);
        uint32_t dst = 0xac100000 + rng_range(1u << 20);
        uint32_t tp = rng_next();
        uint8_t proto = i & 1 ? 6 : 17;
        match_set_in_port(&m, u16_to_ofp(1 + (i & 7)));
        match_set_dl_type(&m, htons(ETH_TYPE_IP));
        match_set_nw_src(&m, htonl(src));
        match_set_nw_dst(&m, htonl(dst));
        match_set_nw_proto(&m, proto);
        match_set_tp_src(&m, htons(tp >> 16));
        match_set_tp_dst(&m, htons(tp & 0xffff));
        add_rule(&m, 100);
        if (i % lookup_step(n) == 0) {
            for (int miss = 0; miss < 2; miss++) {
                struct flow *f = new_lookup();
                f->in_port.ofp_port = u16_to_ofp(1 + (i & 7));
                f->dl_type = htons(ETH_TYPE_IP);
                f->nw_src = htonl(src);
                f->nw_dst = htonl(dst);
                f->nw_proto = proto;
                f->tp_src = htons(tp >> 16);
                f->tp_dst = htons((tp & 0xffff) ^ (miss ? 0x5555 : 0));
            }
        }
    }
}

static void
acl(size_t n)
{
    static const int plens[4] = { 8, 16, 24, 32 };
    ovs_be32 *dsts = xmalloc(n * sizeof *dsts);
    ovs_be32 *masks = xmalloc(n * sizeof *masks);
    size_t n_distinct = 0;

    rng_seed(11);
    for (size_t i = 0; n_distinct < n; i++) {
        int plen = plens[i & 3];
        bool with_port = (i & 4) != 0;
        uint32_t mask = plen == 32 ? UINT32_MAX : ~(UINT32_MAX >> plen);
        struct match m;
        match_init_catchall(&m);
        match_set_dl_type(&m, htons(ETH_TYPE_IP));
        match_set_nw_proto(&m, 6);
        uint32_t dst = rng_next() & mask;
        match_set_nw_dst_masked(&m, htonl(dst), htonl(mask));
        if (with_port) {
            match_set_tp_dst(&m, htons(1 + rng_range(1024)));
        }
        if (add_rule(&m, plen * 2 + with_port)) {
            dsts[n_distinct] = htonl(dst);
            masks[n_distinct] = htonl(mask);
            n_distinct++;
        }
    }
    for (int i = 0; i < 8192; i++) {
        struct flow *f = new_lookup();
        f->in_port.ofp_port = u16_to_ofp(1);
        f->dl_type = htons(ETH_TYPE_IP);
        f->nw_ttl = 64;
        f->nw_proto = 6;
        f->nw_src = htonl(0xc0a80001);
        uint32_t sport = 1024 + rng_range(60000);
        uint32_t dport = 1 + rng_range(1024);
        f->tp_src = htons(sport);
        f->tp_dst = htons(dport);
        if (i & 1) {
            size_t r = rng_range(n_distinct);
            uint32_t m = ntohl(masks[r]);
            f->nw_dst = htonl((ntohl(dsts[r]) & m) | (rng_next() & ~m));
        } else {
            f->nw_dst = htonl(rng_next());
        }
    }
    free(dsts);
    free(masks);
}

static struct eth_addr
mac(uint16_t hi, uint32_t lo)
{
    struct eth_addr e = { .ea = { hi >> 8, hi & 0xff, lo >> 24, (lo >> 16) & 0xff,
                                  (lo >> 8) & 0xff, lo & 0xff } };
    return e;
}

static void
l2(size_t n)
{
    struct match m;

    rng_seed(13);
    match_init_catchall(&m);
    add_rule(&m, 0);
    for (size_t i = 0; i < n; i++) {
        uint32_t lo = (uint32_t) ((uint64_t) i * 2654435761u);
        uint16_t vid = 1 + i % 16;
        match_init_catchall(&m);
        match_set_dl_dst(&m, mac(0x5054, lo));
        match_set_dl_tci_masked(&m, htons(VLAN_CFI | vid), htons(VLAN_CFI | VLAN_VID_MASK));
        add_rule(&m, 100);
        if (i % lookup_step(n) == 0) {
            struct flow *f = new_lookup();
            f->in_port.ofp_port = u16_to_ofp(1);
            f->dl_type = htons(ETH_TYPE_IP);
            f->dl_src = mac(0, rng_next());
            f->dl_dst = mac(0x5054, lo);
            f->vlans[0].tpid = htons(ETH_TYPE_VLAN_8021Q);
            f->vlans[0].tci = htons(VLAN_CFI | vid);
            struct flow *g = new_lookup();
            *g = *f;
            g->dl_dst = mac(0x5054, rng_next());
        }
    }
}

static double
clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;
    return a < b ? -1 : a > b;
}

#define ORDER 65536
static uint32_t order[ORDER];
static size_t pos;
static uint64_t hits, total;

static void
run_lookups(size_t n, bool use_wc)
{
    for (size_t i = 0; i < n; i++) {
        struct flow *f = &lookups[order[pos]];
        const struct cls_rule *r;
        pos = (pos + 1) & (ORDER - 1);
        if (use_wc) {
            struct flow_wildcards wc;
            flow_wildcards_init_catchall(&wc);
            r = classifier_lookup(&cls, OVS_VERSION_MIN, f, &wc);
        } else {
            r = classifier_lookup(&cls, OVS_VERSION_MIN, f, NULL);
        }
        hits += r != NULL;
    }
    total += n;
}

/* As measure() in measure.ts: warm up, calibrate, median of the timed repetitions. */
static void
measure(bool use_wc, bool quick, double *wall_rate, double *cpu_rate)
{
    double warm = quick ? 0.15 : 0.4, rep = quick ? 0.1 : 0.2;
    int reps = quick ? 3 : 5;
    size_t n = 1024;
    double per = 0;

    rng_seed(3);
    for (int i = 0; i < ORDER; i++) {
        order[i] = rng_range(n_lookups);
    }
    pos = 0;
    double w0 = clock_s(CLOCK_MONOTONIC);
    for (int round = 0; round < 8 || clock_s(CLOCK_MONOTONIC) - w0 < warm; round++) {
        double t0 = clock_s(CLOCK_MONOTONIC);
        run_lookups(n, use_wc);
        per = (clock_s(CLOCK_MONOTONIC) - t0) / n;
        n *= 2;
    }
    n = per > 0 ? rep / per : 1024;
    double walls[16], cpus[16];
    for (int r = 0; r < reps; r++) {
        double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        double t0 = clock_s(CLOCK_MONOTONIC);
        run_lookups(n, use_wc);
        walls[r] = n / (clock_s(CLOCK_MONOTONIC) - t0);
        cpus[r] = n / (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    qsort(walls, reps, sizeof *walls, cmp_double);
    qsort(cpus, reps, sizeof *cpus, cmp_double);
    *wall_rate = walls[reps / 2];
    *cpu_rate = cpus[reps / 2];
}

int
main(int argc, char *argv[])
{
    static const enum mf_field_id tries[2] = { MFF_IPV4_DST, MFF_IPV4_SRC };

    if (argc < 3) {
        fprintf(stderr, "usage: %s 5tuple|acl|l2 N_RULES [--quick]\n", argv[0]);
        return 2;
    }
    const char *workload = argv[1];
    size_t n = strtoul(argv[2], NULL, 10);
    bool quick = argc > 3 && !strcmp(argv[3], "--quick");

    classifier_init(&cls, flow_segment_u64s);
    classifier_set_prefix_fields(&cls, tries, 2);
    if (!strcmp(workload, "5tuple")) {
        five_tuple(n);
    } else if (!strcmp(workload, "acl")) {
        acl(n);
    } else if (!strcmp(workload, "l2")) {
        l2(n);
    } else {
        fprintf(stderr, "unknown workload %s\n", workload);
        return 2;
    }

    double no_wc, no_wc_cpu, wc, wc_cpu;
    hits = total = 0;
    measure(false, quick, &no_wc, &no_wc_cpu);
    double hit_rate = (double) hits / total;
    measure(true, quick, &wc, &wc_cpu);
    printf("{\"rules\":%zu,\"lookupFlows\":%zu,\"hitRate\":%.6f,\"noWc\":%.0f,\"noWcCpu\":%.0f,"
           "\"wc\":%.0f,\"wcCpu\":%.0f}\n",
           n_rules, n_lookups, hit_rate, no_wc, no_wc_cpu, wc, wc_cpu);
    return 0;
}
