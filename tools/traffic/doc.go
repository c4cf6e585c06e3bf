// Command mptcp-traffic generates Multipath TCP traffic between two
// network namespaces of the lab and reports what it measured as JSON.
//
// The server accepts MPTCP connections, sinks bulk data, responds to
// request/response exchanges and prints one JSON line per finished
// connection. The client opens MPTCP connections to the single address
// given on its command line and prints one JSON object at the end. It has
// four modes: bulk (send for a duration), reverse (receive for a
// duration), rr (request/response transactions) and churn (many short
// connections at a target rate).
//
// Clients start every connection with a 16-byte header that names the
// mode and the request and response sizes. A connection that does not
// start with the header is echoed back unchanged, so that nc or socat can
// test the server by hand.
//
// Every loop stops at a count or a deadline, and addresses must be IP
// literals, so the tool never resolves names and never reaches any host
// other than the one given.
//
// # Reports
//
// Byte counts are application bytes; the server's include the 16-byte
// header. The mbps fields are in 10^6 bits per second.
//
//   - Server, per connection: event ("conn"), mode, remote, local,
//     bytes_received, bytes_sent, transactions, seconds, data_seconds,
//     mbps (bulk and reverse), mptcp, mptcp_info, error.
//   - Client, bulk, reverse and rr: mode, remote, local, mptcp, fallback
//     (why a connection is plain TCP), mptcp_info (token, subflows,
//     retransmits, bytes_retrans, bytes_sent, bytes_received,
//     bytes_acked, from the kernel's struct mptcp_info), error.
//   - bulk and reverse: bytes, seconds, mbps, drain_error, hold_seconds.
//     With --interval, lines with event "interval" come first: start,
//     seconds, bytes, mbps, subflows.
//   - rr: request_bytes, response_bytes, transactions, seconds,
//     transactions_per_second, latency (p50_ms, p99_ms, max_ms, mean_ms).
//   - churn: mode, remote, target_rate, max_inflight, attempted, opened,
//     succeeded, failed, mptcp (all opened connections were MPTCP),
//     mptcp_connections, fallback, seconds, rate, connect_latency,
//     transaction_latency, errors (count per kind of failure), error.
//   - A bulk, reverse or rr run that cannot connect prints only mode,
//     remote, mptcp (false) and error.
package main
