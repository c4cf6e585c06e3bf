/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Types shared by the tp_btf and raw_tp objects and read by the Go
 * decoder. Every field is in host byte order unless its comment says
 * otherwise, and the layout has no implicit padding.
 */
#ifndef MPTCP_BPF_PM_SUBFLOW_H
#define MPTCP_BPF_PM_SUBFLOW_H

/* Reason bits of a record; Go mirrors them as bpf.Reason. */
enum sf_reason {
	REASON_NEW = 1 << 0,
	REASON_RTT = 1 << 1,
	REASON_CWND = 1 << 2,
	REASON_RETRANS = 1 << 3,
	REASON_LOSS = 1 << 4,
	REASON_STATE = 1 << 5,
	REASON_CA_STATE = 1 << 6,
	REASON_CLOSE = 1 << 7,
	REASON_HEARTBEAT = 1 << 8,
};

/* Reasons that wake the reader at once; the rest wait for its drain. */
#define REASON_URGENT \
	(REASON_NEW | REASON_RETRANS | REASON_LOSS | REASON_CLOSE)

/* Indexes of the per-CPU drop counters. */
enum sf_drop {
	DROP_RESERVE = 0,  /* ring buffer full: record lost */
	DROP_STORAGE = 1,  /* no per-socket state: socket not tracked */
	DROP_MAX = 2,
};

/*
 * struct record is one sample of one subflow, 144 bytes. Addresses are
 * in network byte order (IPv4 in the first 4 bytes), ports in host order.
 */
struct record {
	__u64 timestamp_ns;	/* bpf_ktime_get_ns, CLOCK_MONOTONIC */
	__u64 cookie;		/* socket cookie, the inet_diag cookie */
	__u64 bytes_acked;
	__u64 bytes_sent;
	__u64 bytes_retrans;
	__u64 pacing_rate;	/* bytes per second */
	__u64 delivery_rate;	/* bytes per second, as tcp_info */
	__u32 reason;
	__u32 token;
	__u32 srtt_us;
	__u32 rttvar_us;
	__u32 min_rtt_us;
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
	__u32 packets_out;
	__u32 total_retrans;
	__u32 lost_out;
	__u32 delivered;
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
};

#endif
