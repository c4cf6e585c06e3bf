//go:build ignore

/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The naive design, kept only as a benchmark baseline: every tcp_probe
 * hit on a matching subflow reads everything and submits a record that
 * wakes the reader. It sends the same record as the real programs and
 * filters in the same order.
 */
#include "../../headers/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

char __license[] SEC("license") = "Dual MIT/GPL";

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

#define RD(p, f) ((p)->f)
#define RDB(p, f) BPF_CORE_READ_BITFIELD(p, f)
#define CAST(p, type) \
	((struct type *)bpf_rdonly_cast((p), \
		bpf_core_type_id_kernel(struct type)))

#include "../../subflow_core.h"

static __always_inline struct tcp_sock *as_tcp(struct sock *sk)
{
	return bpf_skc_to_tcp_sock(sk);
}

static __always_inline __u64 sk_cookie(struct sock *sk)
{
	return bpf_get_socket_cookie(sk);
}

static __always_inline struct sf_state *state_get(struct sock *sk,
						  int create)
{
	return NULL;
}

static __always_inline void state_delete(struct sock *sk)
{
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(on_tcp_probe, struct sock *sk, struct sk_buff *skb)
{
	struct sf_state st = {};
	struct tcp_sock *tp;
	struct record *r;
	__u16 family;

	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	tp = as_tcp(sk);
	if (!tp || !is_mptcp(tp))
		return 0;
	if (netns_ino && netns_of(sk) != netns_ino)
		return 0;

	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		count_drop(DROP_RESERVE);
		return 0;
	}
	read_identity(&st, sk, tp, family);
	fill_identity(r, &st);
	fill_stats(r, sk, tp);
	r->timestamp_ns = bpf_ktime_get_ns();
	r->reason = REASON_HEARTBEAT;
	r->srtt_us = tp->srtt_us >> 3;
	r->snd_cwnd = tp->snd_cwnd;
	r->tcp_state = sk->__sk_common.skc_state;
	r->ca_state = BPF_CORE_READ_BITFIELD(tp, inet_conn.icsk_ca_state);
	bpf_ringbuf_submit(r, 0);
	return 0;
}
