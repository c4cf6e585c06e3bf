/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Filter, per-subflow state and emission logic shared by the tp_btf and
 * the raw_tp object. The including file defines how memory is read:
 *
 *   RD(p, f)        read field f of p
 *   RDB(p, f)       read bitfield or integer f of p, size and sign aware
 *   CAST(p, type)   turn a kernel pointer into a struct type pointer
 *   as_tcp(sk)      the tcp_sock behind sk, or NULL if it has none
 *   sk_cookie(sk)   the socket cookie
 *   state_get(sk, create), state_delete(sk)
 */
#ifndef MPTCP_BPF_PM_SUBFLOW_CORE_H
#define MPTCP_BPF_PM_SUBFLOW_CORE_H

#include "subflow.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* Load-time options, rewritten by the Go loader before loading. */
const volatile __u8 all_tcp = 0;	/* 0: MPTCP subflows only */
const volatile __u32 netns_ino = 0;	/* 0: every network namespace */
const volatile __u8 filter_tokens = 0;	/* 1: only tokens in tokens */
const volatile __u64 heartbeat_ns = 200000000;
const volatile __u32 rtt_frac = 128;	/* of 1024: srtt change */
const volatile __u32 rtt_floor_us = 100;
const volatile __u32 cwnd_down_frac = 128;	/* of 1024 */
const volatile __u32 cwnd_up_frac = 256;	/* of 1024 */

/* token_gen is bumped by Go after each change to tokens. */
volatile __u32 token_gen = 0;

/* Flags of struct sf_state. */
#define ST_IDENT 0x1		/* identity cached */
#define ST_ANNOUNCED 0x2	/* a REASON_NEW record went out */
#define ST_FILTER_VALID 0x4	/* ST_ALLOWED matches filter_gen */
#define ST_ALLOWED 0x8		/* token is in tokens */

/*
 * struct sf_state is the per-subflow state: the identity cached at first
 * sight (the kernel wipes it when the subflow closes) and the baseline of
 * the last record that reached the ring.
 */
struct sf_state {
	__u64 cookie;
	__u64 last_emit_ns;
	__u32 token;
	__u32 srtt_us;
	__u32 snd_cwnd;
	__u32 filter_gen;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__s16 local_id;
	__u8 remote_id;
	__u8 backup;
	__u8 tcp_state;
	__u8 ca_state;
	__u8 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__type(value, struct record);	/* for bpf2go -type only */
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} tokens SEC(".maps");

/* Defined by the including file, after this header. */
static __always_inline struct tcp_sock *as_tcp(struct sock *sk);
static __always_inline __u64 sk_cookie(struct sock *sk);
static __always_inline struct sf_state *state_get(struct sock *sk,
						  int create);
static __always_inline void state_delete(struct sock *sk);

/* Events that reach handle(). */
enum sf_event {
	EV_PROBE,
	EV_RETRANS,
	EV_STATE,
	EV_CA,
};

static __always_inline void count_drop(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &idx);

	if (n)
		*n += 1;
}

static __always_inline int is_mptcp(struct tcp_sock *tp)
{
	if (!bpf_core_field_exists(tp->is_mptcp))
		return 0;
	return RD(tp, is_mptcp);
}

static __always_inline __u32 netns_of(struct sock *sk)
{
	struct net *net = RD(sk, __sk_common.skc_net.net);

	return RD(net, ns.inum);
}

static __always_inline void read_addrs(struct sf_state *st, struct sock *sk)
{
	__u32 *s = (__u32 *)st->saddr, *d = (__u32 *)st->daddr;

	st->sport = RD(sk, __sk_common.skc_num);
	st->dport = bpf_ntohs(RD(sk, __sk_common.skc_dport));
	if (st->family == AF_INET) {
		s[0] = RD(sk, __sk_common.skc_rcv_saddr);
		d[0] = RD(sk, __sk_common.skc_daddr);
		return;
	}
	s[0] = RD(sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[0]);
	s[1] = RD(sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[1]);
	s[2] = RD(sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[2]);
	s[3] = RD(sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[3]);
	d[0] = RD(sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32[0]);
	d[1] = RD(sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32[1]);
	d[2] = RD(sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32[2]);
	d[3] = RD(sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32[3]);
}

static __always_inline struct mptcp_subflow_context *
subflow_ctx(struct tcp_sock *tp)
{
	return CAST(RD(tp, inet_conn.icsk_ulp_data), mptcp_subflow_context);
}

/*
 * msk_token returns the token of the subflow's MPTCP connection. The
 * subflow's copy is set from SYN_SENT on the client and from SYN_RECV on
 * the server. conn, the fallback, is NULL on the server until the
 * subflow is attached to it.
 */
static __always_inline __u32 msk_token(struct mptcp_subflow_context *sf)
{
	struct sock *conn;
	__u32 token = RD(sf, token);

	if (token)
		return token;
	conn = RD(sf, conn);
	if (!conn)
		return 0;
	return RD(CAST(conn, mptcp_sock), token);
}

/*
 * is_backup reports whether either end marked the subflow as backup:
 * the peer (backup) or this host (request_bkup, a newer field).
 */
static __always_inline __u8 is_backup(struct mptcp_subflow_context *sf)
{
	if (RDB(sf, backup))
		return 1;
	if (!bpf_core_field_exists(sf->request_bkup))
		return 0;
	return RDB(sf, request_bkup);
}

/*
 * refresh_backup reads the backup flag again, since MP_PRIO changes it,
 * unless the kernel has already wiped the subflow context at close.
 */
static __always_inline void refresh_backup(struct sf_state *st,
					   struct tcp_sock *tp)
{
	struct mptcp_subflow_context *sf;

	if (!is_mptcp(tp))
		return;
	sf = subflow_ctx(tp);
	if (msk_token(sf) == st->token)
		st->backup = is_backup(sf);
}

/*
 * read_identity caches cookie, addresses, token and ids. It returns 1
 * once they are complete: ports known and, for MPTCP, a token. Before
 * that (a connect in progress) the socket is not reported.
 */
static __always_inline int read_identity(struct sf_state *st,
					 struct sock *sk, struct tcp_sock *tp,
					 __u16 family)
{
	struct mptcp_subflow_context *sf;

	st->family = family;
	read_addrs(st, sk);
	st->local_id = -1;
	if (is_mptcp(tp)) {
		sf = subflow_ctx(tp);
		st->token = msk_token(sf);
		st->local_id = RDB(sf, local_id);
		st->remote_id = RDB(sf, remote_id);
		st->backup = is_backup(sf);
		if (!st->token)
			return 0;
	}
	if (!st->sport || !st->dport)
		return 0;
	st->cookie = sk_cookie(sk);
	st->flags |= ST_IDENT;
	return 1;
}

/* token_allowed applies the optional token filter, cached per socket. */
static __always_inline int token_allowed(struct sf_state *st)
{
	__u32 gen = token_gen;

	if (!filter_tokens)
		return 1;
	if (!(st->flags & ST_FILTER_VALID) || st->filter_gen != gen) {
		st->flags &= ~ST_ALLOWED;
		if (bpf_map_lookup_elem(&tokens, &st->token))
			st->flags |= ST_ALLOWED;
		st->flags |= ST_FILTER_VALID;
		st->filter_gen = gen;
	}
	return st->flags & ST_ALLOWED;
}

static __always_inline int rtt_moved(__u32 base, __u32 now)
{
	__u64 delta = now > base ? now - base : base - now;
	__u64 limit = ((__u64)base * rtt_frac) >> 10;

	if (limit < rtt_floor_us)
		limit = rtt_floor_us;
	return delta > limit;
}

static __always_inline int cwnd_moved(__u32 base, __u32 now)
{
	__u64 b = base;

	/* A socket being set up or torn down can read cwnd 0. A move from
	 * or to 0 is no congestion change, and it would defeat thresholds
	 * set out of reach. */
	if (now == 0 || base == 0)
		return 0;
	if (now < base)
		return ((b - now) << 10) >= b * cwnd_down_frac;
	return (((__u64)now - b) << 10) >= b * cwnd_up_frac && now != base;
}

static __always_inline void fill_stats(struct record *r, struct sock *sk,
				       struct tcp_sock *tp)
{
	__u64 interval, rate;

	r->rttvar_us = RD(tp, mdev_us) >> 2;
	r->min_rtt_us = RD(tp, rtt_min.s[0].v);
	r->snd_ssthresh = RD(tp, snd_ssthresh);
	r->packets_out = RD(tp, packets_out);
	r->total_retrans = RD(tp, total_retrans);
	r->lost_out = RD(tp, lost_out);
	r->delivered = RD(tp, delivered);
	r->bytes_acked = RD(tp, bytes_acked);
	r->bytes_sent = RD(tp, bytes_sent);
	r->bytes_retrans = RD(tp, bytes_retrans);
	r->pacing_rate = RD(sk, sk_pacing_rate);

	/* Same formula as tcp_info's tcpi_delivery_rate. */
	interval = RD(tp, rate_interval_us);
	rate = (__u64)RD(tp, rate_delivered) * RD(tp, mss_cache) * 1000000;
	r->delivery_rate = interval ? rate / interval : 0;
}

static __always_inline void fill_identity(struct record *r,
					  struct sf_state *st)
{
	r->cookie = st->cookie;
	r->token = st->token;
	__builtin_memcpy(r->saddr, st->saddr, 16);
	__builtin_memcpy(r->daddr, st->daddr, 16);
	r->sport = st->sport;
	r->dport = st->dport;
	r->family = st->family;
	r->local_id = st->local_id;
	r->remote_id = st->remote_id;
	r->backup = st->backup;
}

/* struct sf_sample is what one event observed on one subflow. */
struct sf_sample {
	__u64 now;
	__u32 reason;
	__u32 srtt_us;
	__u32 snd_cwnd;
	__u8 tcp_state;
	__u8 ca_state;
};

/*
 * emit sends one record and moves the baseline to it. When the ring is
 * full the baseline stays, so the next event detects the change again.
 */
static __always_inline void emit(struct sock *sk, struct tcp_sock *tp,
				 struct sf_state *st, struct sf_sample *s)
{
	struct record *r;

	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		count_drop(DROP_RESERVE);
		return;
	}
	refresh_backup(st, tp);
	if (!st->cookie)
		st->cookie = sk_cookie(sk);
	fill_identity(r, st);
	fill_stats(r, sk, tp);
	r->timestamp_ns = s->now;
	r->reason = s->reason;
	r->srtt_us = s->srtt_us;
	r->snd_cwnd = s->snd_cwnd;
	r->tcp_state = s->tcp_state;
	r->ca_state = s->ca_state;

	st->last_emit_ns = s->now;
	st->srtt_us = s->srtt_us;
	st->snd_cwnd = s->snd_cwnd;
	st->tcp_state = s->tcp_state;
	st->ca_state = s->ca_state;
	st->flags |= ST_ANNOUNCED;
	/*
	 * Flags 0 would wake the reader only if the ring was empty, and
	 * routine records queued without a wakeup usually sit in front.
	 */
	bpf_ringbuf_submit(r, s->reason & REASON_URGENT ?
			   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline __u32 changes(struct sf_state *st, struct sf_sample *s)
{
	__u32 reason = 0;

	if (!(st->flags & ST_ANNOUNCED))
		return REASON_NEW;
	if (rtt_moved(st->srtt_us, s->srtt_us))
		reason |= REASON_RTT;
	if (cwnd_moved(st->snd_cwnd, s->snd_cwnd))
		reason |= REASON_CWND;
	if (s->tcp_state != st->tcp_state) {
		reason |= REASON_STATE;
		if (s->tcp_state == TCP_CLOSE)
			reason |= REASON_CLOSE;
	}
	if (s->ca_state != st->ca_state) {
		reason |= REASON_CA_STATE;
		if (s->ca_state == TCP_CA_Recovery ||
		    s->ca_state == TCP_CA_Loss)
			reason |= REASON_LOSS;
	}
	if (s->now - st->last_emit_ns >= heartbeat_ns)
		reason |= REASON_HEARTBEAT;
	return reason;
}

/*
 * handle runs for every event on a TCP socket: the cheapest filters
 * first (family, MPTCP, netns), then the per-socket state, then the
 * change test. arg is the new TCP state for EV_STATE and the new CA
 * state for EV_CA.
 */
static __always_inline int handle(struct sock *sk, enum sf_event ev, __u32 arg)
{
	struct sf_sample s = {};
	struct tcp_sock *tp;
	struct sf_state *st;
	__u16 family;

	family = RD(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	tp = as_tcp(sk);
	if (!tp)
		return 0;
	if (!all_tcp && !is_mptcp(tp))
		return 0;
	if (netns_ino && netns_of(sk) != netns_ino)
		return 0;

	/* A socket first seen as it closes is not worth a state. */
	st = state_get(sk, !(ev == EV_STATE && arg == TCP_CLOSE));
	if (!st)
		return 0;

	s.now = bpf_ktime_get_ns();
	s.tcp_state = ev == EV_STATE ? arg : RD(sk, __sk_common.skc_state);
	s.ca_state = ev == EV_CA ? arg : RDB(tp, inet_conn.icsk_ca_state);
	s.srtt_us = RD(tp, srtt_us) >> 3;
	s.snd_cwnd = RD(tp, snd_cwnd);
	if (!(st->flags & ST_IDENT) &&
	    !read_identity(st, sk, tp, family))
		return 0;
	if (!token_allowed(st))
		return 0;

	s.reason = changes(st, &s);
	if (ev == EV_RETRANS)
		s.reason |= REASON_RETRANS;
	if (s.reason)
		emit(sk, tp, st, &s);
	if (ev == EV_STATE && arg == TCP_CLOSE)
		state_delete(sk);
	return 0;
}

#endif
