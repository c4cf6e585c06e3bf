// Package control is the daemon's control socket: a unix stream socket
// that carries one JSON request and one JSON response per connection, or a
// stream of responses for a watch request.
//
// The socket file is created with mode 0600, and every peer is checked
// with SO_PEERCRED: only root and the daemon's own effective uid are
// served. The daemon implements Handler; commands such as "mptcp-bpf-pm
// ctl" and "mptcp-bpf-pm top" use Client.
//
// Wire format: each message is one line of JSON. A request is a Request
// object; a response is a Response object whose Error field is set on
// failure. A watch request gets one Response with an Update every interval
// until either side closes the connection.
package control
