package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `mptcp-traffic: Multipath TCP traffic generator for the netns lab.

Usage:
  mptcp-traffic server --listen IP:PORT [--once] [flags]
  mptcp-traffic client --connect IP:PORT --mode MODE [flags]
      MODE is bulk, reverse, rr or churn

Run "mptcp-traffic server -h" or "mptcp-traffic client -h" for flags.

Exit status: 0 on success, 1 on error or when SIGINT or SIGTERM stops a
client run early (the report is still printed), 2 on invalid usage, 3
when --require-mptcp is set and a connection is plain TCP.
`

const serverUsage = `Usage: mptcp-traffic server --listen IP:PORT [flags]

Accepts MPTCP connections until SIGINT or SIGTERM (or after one
connection with --once). Bulk data is read and dropped, rr and churn
requests get a response of the size the client asked for, and a
connection without the mptcp-traffic header is echoed back. One JSON line
per finished connection goes to standard output: mode, bytes received
and sent, seconds, Mbit/s and whether the socket really is MPTCP.
"listening on ADDR" goes to standard error once the socket listens.

Flags:
`

const clientUsage = `Usage: mptcp-traffic client --connect IP:PORT [flags]

Opens MPTCP connections to the one address given by --connect and to no
other host; names are never resolved. Give it a lab namespace address,
such as 10.200.1.2:5201, and run it inside the client namespace
(ip netns exec). Prints one JSON object when done.

  bulk   one connection sends for --duration; the report counts bytes
         acknowledged by the peer and Mbit/s. With --interval, lines
         with "event":"interval" come first and show the progress.
  reverse  like bulk, but the server sends and the client receives;
         the report counts bytes received.
  rr     one connection runs --request/--response transactions for
         --duration or --count; reports transactions/s, latency p50/p99.
  churn  --count short connections, started at --rate per second with at
         most --inflight open; reports the rate achieved, failures and
         connect latency p50/p99. --duration bounds the whole run.
         Failed connections are counted in the report and do not
         change the exit status.

Durations take Go syntax (5s, 200ms) or a number of seconds.

Flags:
`

// exitNotMPTCP is the exit status when --require-mptcp is not met.
const exitNotMPTCP = 3

func main() {
	ctx, stop := signal.NotifyContext(context.Background(),
		os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout,
	stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	out := &jsonWriter{w: stdout}
	var err error
	switch args[0] {
	case "server":
		err = cmdServer(ctx, args[1:], out, stderr)
	case "client":
		err = cmdClient(ctx, args[1:], out, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "mptcp-traffic: unknown command %q\n\n%s",
			args[0], usage)
		return 2
	}
	return exitCode(err, stderr)
}

func cmdServer(ctx context.Context, args []string, out *jsonWriter,
	stderr io.Writer) error {
	cfg, err := parseServerFlags(args, stderr)
	if err != nil {
		return usageError{err}
	}
	return runServer(ctx, cfg, out, stderr)
}

func cmdClient(ctx context.Context, args []string, out *jsonWriter,
	stderr io.Writer) error {
	cfg, err := parseClientFlags(args, stderr)
	if err != nil {
		return usageError{err}
	}
	switch cfg.mode {
	case ModeRR:
		return runRR(ctx, cfg, out)
	case ModeChurn:
		return runChurn(ctx, cfg, out)
	case ModeReverse:
		return runReverse(ctx, cfg, out)
	default:
		return runBulk(ctx, cfg, out)
	}
}

// usageError marks an invalid command line (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "mptcp-traffic:", err)
		return 2
	case errors.Is(err, errNotMPTCP):
		fmt.Fprintln(stderr, "mptcp-traffic:", err)
		return exitNotMPTCP
	}
	fmt.Fprintln(stderr, "mptcp-traffic:", err)
	return 1
}
