//go:build ignore

/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Per-subflow congestion window caps on a stock kernel. A sock_ops program
 * on a cgroup v2 enables RTT and state callbacks on every MPTCP subflow at
 * ESTABLISHED, and on each callback sets TCP_BPF_SNDCWND_CLAMP to the cap
 * that user space wrote for the socket cookie. A TCP iterator does the same
 * on demand, for idle subflows and those established before the attach.
 * The kernel option sets both snd_cwnd_clamp and snd_ssthresh. cwnd itself
 * drops to the clamp at the next congestion avoidance or slow start step.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char __license[] SEC("license") = "Dual MIT/GPL";

#define SOL_TCP 6

#define CB_FLAGS (BPF_SOCK_OPS_RTT_CB_FLAG | BPF_SOCK_OPS_STATE_CB_FLAG)

/* bpf_setsockopt takes the clamp as an int and rejects values <= 0. */
#define CLAMP_MAX 0x7fffffff

#define CAP_ENTRIES 65536

/*
 * struct clamp_state is what the program changed on one subflow: the
 * clamp it found before the first cap (the kernel default, limited to
 * CLAMP_MAX) and the clamp it set last.
 */
struct clamp_state {
	__u32 orig;
	__u32 applied;
};

enum counter {
	COUNTER_SET,	 /* clamp setsockopt calls that succeeded */
	COUNTER_ERROR,	 /* clamp setsockopt calls that failed */
	COUNTER_RESTORE, /* subflows given back their original clamp */
	COUNTER_MAX,
};

/* caps: socket cookie -> cap in segments, written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CAP_ENTRIES);
	__type(key, __u64);
	__type(value, __u32);
} caps SEC(".maps");

/* clamped: socket cookie -> state, for subflows whose clamp was changed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CAP_ENTRIES);
	__type(key, __u64);
	__type(value, struct clamp_state);
} clamped SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * sock is what bpf_setsockopt takes in the calling program: the context
 * in sock_ops, the tcp_sock in the TCP iterator.
 */
static __always_inline int set_clamp(void *sock, __u32 v)
{
	int val = v;
	int err;

	err = bpf_setsockopt(sock, SOL_TCP, TCP_BPF_SNDCWND_CLAMP,
			     &val, sizeof(val));
	count(err ? COUNTER_ERROR : COUNTER_SET);
	return err;
}

/* restore gives the subflow back its original clamp and deletes its state. */
static __always_inline void restore(void *sock, struct tcp_sock *tp,
				    __u64 cookie, struct clamp_state *st)
{
	if (tp->snd_cwnd_clamp != st->orig && set_clamp(sock, st->orig))
		return; /* keep the state, retry at the next callback */
	bpf_map_delete_elem(&clamped, &cookie);
	count(COUNTER_RESTORE);
}

static __always_inline struct clamp_state *remember(struct tcp_sock *tp,
						    __u64 cookie)
{
	struct clamp_state st = { .orig = tp->snd_cwnd_clamp };

	if (st.orig > CLAMP_MAX)
		st.orig = CLAMP_MAX;
	bpf_map_update_elem(&clamped, &cookie, &st, BPF_NOEXIST);
	return bpf_map_lookup_elem(&clamped, &cookie);
}

/*
 * apply makes the subflow's clamp match its cap. The setsockopt runs only
 * when the clamp differs, so a steady cap costs two map lookups per ACK.
 */
static __always_inline void apply(void *sock, struct tcp_sock *tp,
				  __u64 cookie)
{
	struct clamp_state *st;
	__u32 *cap, want;

	cap = bpf_map_lookup_elem(&caps, &cookie);
	st = bpf_map_lookup_elem(&clamped, &cookie);
	if (!cap || !*cap) {
		if (st)
			restore(sock, tp, cookie, st);
		return;
	}

	if (!st)
		st = remember(tp, cookie);
	if (!st)
		return;
	want = *cap > CLAMP_MAX ? CLAMP_MAX : *cap;
	if (tp->snd_cwnd_clamp != want && set_clamp(sock, want))
		return;
	st->applied = want;
}

static __always_inline void forget(struct bpf_sock_ops *skops)
{
	__u64 cookie = bpf_get_socket_cookie(skops);

	bpf_map_delete_elem(&clamped, &cookie);
	bpf_map_delete_elem(&caps, &cookie);
}

static __always_inline struct tcp_sock *subflow(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct tcp_sock *tp;

	if (!sk)
		return NULL;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || !tp->is_mptcp)
		return NULL;
	return tp;
}

SEC("sockops")
int clamp_sockops(struct bpf_sock_ops *skops)
{
	struct tcp_sock *tp;

	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		tp = subflow(skops);
		if (!tp)
			break;
		bpf_sock_ops_cb_flags_set(skops,
					  skops->bpf_sock_ops_cb_flags | CB_FLAGS);
		apply(skops, tp, bpf_get_socket_cookie(skops));
		break;
	case BPF_SOCK_OPS_RTT_CB:
		tp = subflow(skops);
		if (tp)
			apply(skops, tp, bpf_get_socket_cookie(skops));
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			forget(skops);
		break;
	}
	return 1;
}

/*
 * clamp_iter applies the caps at once, without waiting for an ACK, to the
 * MPTCP subflows of the reader's network namespace that have a cap or a
 * changed clamp. It also enables the callbacks on them, which covers
 * subflows established before the sock_ops program was attached.
 */
SEC("iter/tcp")
int clamp_iter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	__u64 cookie;
	int flags;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !tp->is_mptcp)
		return 0;
	cookie = bpf_get_socket_cookie(tp);
	if (!bpf_map_lookup_elem(&caps, &cookie) &&
	    !bpf_map_lookup_elem(&clamped, &cookie))
		return 0;

	flags = tp->bpf_sock_ops_cb_flags | CB_FLAGS;
	if (flags != tp->bpf_sock_ops_cb_flags)
		bpf_setsockopt(tp, SOL_TCP, TCP_BPF_SOCK_OPS_CB_FLAGS,
			       &flags, sizeof(flags));
	apply(tp, tp, cookie);
	return 0;
}
