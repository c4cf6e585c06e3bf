// Package optimizer runs an external optimizer program that chooses
// per-subflow congestion window caps for one MPTCP connection.
//
// # Contract
//
// [Runner.Run] starts the program once per call, with Runner.Args, in a
// process group of its own. Its standard input is one JSON object, an
// [Input], followed by a newline and end of file:
//
//	{"version":1,
//	 "connection":{"token":2882400001,"local":"10.200.1.1:41234",
//	   "remote":"10.200.1.2:5201","state":"established",
//	   "server_side":false},
//	 "subflows":[
//	   {"cookie":8193,"local":"10.200.1.1:41234",
//	    "remote":"10.200.1.2:5201","local_id":0,"remote_id":0,
//	    "backup":false,"srtt_us":412,"rttvar_us":97,"snd_cwnd":86,
//	    "ssthresh":2147483647,"bytes_acked":81234567,
//	    "bytes_sent":81300000,"retrans":3,"delivery_rate":118000000,
//	    "throughput":112500000,"cap":0}]}
//
// The program must print one JSON array of non-negative integers on
// standard output, one per subflow in the order of Input.Subflows, and
// exit with status 0:
//
//	[0, 40]
//
// Each number is a congestion window cap in segments for that subflow; 0
// means no cap. Whitespace around the array is allowed, anything else
// after it is not. Standard error is free text, and its last bytes are
// kept in the error when the program fails.
//
// # Errors
//
// Run returns the caps, or one of these errors (errors.As):
//
//   - [*ExitError]: the program exited with a non-zero status, or could
//     not be started; it carries the status and the tail of stderr.
//   - [*TimeoutError]: the program ran past Runner.Timeout, or the context
//     ended; its whole process group was killed with SIGKILL.
//   - [*OutputError]: stdout is not one JSON array, or is larger than
//     MaxOutput; it carries the first 200 bytes.
//   - [*CountError]: the array length differs from the number of subflows.
//   - [*CapError]: a value is not an integer, is negative, or is above
//     Runner.MaxCap.
//
// [Reason] maps each of them to a short word for a log field.
package optimizer
