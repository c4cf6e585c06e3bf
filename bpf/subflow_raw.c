//go:build ignore

/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The same programs on raw tracepoints, for kernels where tp_btf cannot
 * load. Raw tracepoint programs may not call bpf_get_socket_cookie or
 * bpf_sk_storage_get, so every field is read with bpf_probe_read_kernel
 * (BPF_CORE_READ) and socket state lives in an LRU hash keyed by the
 * socket's address, deleted when the socket closes or is destroyed.
 */
#include "headers/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

char __license[] SEC("license") = "Dual MIT/GPL";

#define RD(p, f) BPF_CORE_READ(p, f)
#define RDB(p, f) BPF_CORE_READ_BITFIELD_PROBED(p, f)
#define CAST(p, type) ((struct type *)(p))

#include "subflow_core.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct sf_state);
} states SEC(".maps");

/*
 * as_tcp trusts the tracepoint: the tcp_* ones fire only on TCP sockets,
 * and on_inet_sock_set_state checks sk_protocol first. That saves two
 * probe reads per tcp_probe hit.
 */
static __always_inline struct tcp_sock *as_tcp(struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

/*
 * sk_cookie returns the cookie only when something has already asked
 * for it (an inet_diag dump, SO_COOKIE, a tp_btf program), 0 otherwise.
 */
static __always_inline __u64 sk_cookie(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

static __always_inline struct sf_state *state_get(struct sock *sk,
						  int create)
{
	static const struct sf_state zero = {};
	__u64 key = (__u64)sk;
	struct sf_state *st;

	st = bpf_map_lookup_elem(&states, &key);
	if (st || !create)
		return st;
	bpf_map_update_elem(&states, &key, &zero, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&states, &key);
	if (!st)
		count_drop(DROP_STORAGE);
	return st;
}

static __always_inline void state_delete(struct sock *sk)
{
	__u64 key = (__u64)sk;

	bpf_map_delete_elem(&states, &key);
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(on_tcp_probe, struct sock *sk, struct sk_buff *skb)
{
	return handle(sk, EV_PROBE, 0);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(on_tcp_retransmit_skb, const struct sock *sk,
	     const struct sk_buff *skb)
{
	return handle((struct sock *)sk, EV_RETRANS, 0);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(on_inet_sock_set_state, const struct sock *sk, int oldstate,
	     int newstate)
{
	if (RD(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	return handle((struct sock *)sk, EV_STATE, newstate);
}

SEC("raw_tp/tcp_cong_state_set")
int BPF_PROG(on_tcp_cong_state_set, struct sock *sk, __u8 ca_state)
{
	return handle(sk, EV_CA, ca_state);
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(on_tcp_destroy_sock, struct sock *sk)
{
	state_delete(sk);
	return 0;
}
