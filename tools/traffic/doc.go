// Command mptcp-traffic generates Multipath TCP traffic between two
// network namespaces of the lab and reports what it measured as JSON.
//
// The server accepts MPTCP connections, sinks bulk data, responds to
// request/response exchanges and prints one JSON line per finished
// connection. The client opens MPTCP connections to the single address
// given on its command line, in one of three modes: bulk (send for a
// duration), rr (request/response transactions) and churn (many short
// connections at a target rate). It prints one JSON object at the end.
//
// Clients start every connection with a 16-byte header that names the
// mode and the request and response sizes. A connection that does not
// start with the header is echoed back unchanged, so that nc or socat can
// test the server by hand.
//
// Every loop stops at a count or a deadline, and addresses must be IP
// literals, so the tool never resolves names and never reaches any host
// other than the one given.
package main
