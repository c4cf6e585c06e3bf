//go:build ignore

/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Per-subflow TCP statistics on BTF-enabled tracepoints (tp_btf). Socket
 * state lives in socket local storage, so the kernel frees it with the
 * socket, and records carry the socket cookie.
 */
#include "headers/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

char __license[] SEC("license") = "Dual MIT/GPL";

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* Direct loads through BTF pointers: no helper call per field. */
#define RD(p, f) ((p)->f)
#define RDB(p, f) BPF_CORE_READ_BITFIELD(p, f)
#define CAST(p, type) \
	((struct type *)bpf_rdonly_cast((p), \
		bpf_core_type_id_kernel(struct type)))

#include "subflow_core.h"

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sf_state);
} states SEC(".maps");

/*
 * as_tcp casts with bpf_rdonly_cast, which the verifier turns into no
 * instruction, in place of a bpf_skc_to_tcp_sock call: the tcp_*
 * tracepoints fire only on TCP sockets, and on_inet_sock_set_state
 * checks sk_protocol first.
 */
static __always_inline struct tcp_sock *as_tcp(struct sock *sk)
{
	return CAST(sk, tcp_sock);
}

static __always_inline __u64 sk_cookie(struct sock *sk)
{
	return bpf_get_socket_cookie(sk);
}

static __always_inline struct sf_state *state_get(struct sock *sk,
						  int create)
{
	struct sf_state *st;

	st = bpf_sk_storage_get(&states, sk, 0,
				create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	if (!st && create)
		count_drop(DROP_STORAGE);
	return st;
}

static __always_inline void state_delete(struct sock *sk)
{
	bpf_sk_storage_delete(&states, sk);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(on_tcp_probe, struct sock *sk, struct sk_buff *skb)
{
	return handle(sk, EV_PROBE, 0);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(on_tcp_retransmit_skb, const struct sock *sk,
	     const struct sk_buff *skb)
{
	return handle((struct sock *)sk, EV_RETRANS, 0);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_inet_sock_set_state, const struct sock *sk, int oldstate,
	     int newstate)
{
	if (RD(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	return handle((struct sock *)sk, EV_STATE, newstate);
}

SEC("tp_btf/tcp_cong_state_set")
int BPF_PROG(on_tcp_cong_state_set, struct sock *sk, __u8 ca_state)
{
	return handle(sk, EV_CA, ca_state);
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(on_tcp_destroy_sock, struct sock *sk)
{
	state_delete(sk);
	return 0;
}
