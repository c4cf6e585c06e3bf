package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

var monitorOpts pmOptions

var monitorCmd = &cobra.Command{
	Use:   "monitor",
	Short: "Print MPTCP path-manager events (like ip mptcp monitor)",
	Long: `Print one line per event of the mptcp_pm_events group of a network
namespace until interrupted, in the format of "ip mptcp monitor": the event
name in brackets, then token (hex), remid, locid, addresses, ports, backup,
error, flags (hex), timeout, ifindex, reset_reason, reset_flags and
server_side, each only when the kernel sent it. --json prints one JSON
object per line. Needs CAP_NET_ADMIN.`,
	Args: cobra.NoArgs,
	RunE: runMonitor,
}

func init() {
	addPMFlags(monitorCmd, &monitorOpts, true)
	rootCmd.AddCommand(monitorCmd)
}

func runMonitor(cmd *cobra.Command, _ []string) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt,
		syscall.SIGTERM)
	defer stop()

	cfg, done, err := monitorOpts.config()
	if err != nil {
		return err
	}
	defer done()
	ec, err := pm.ListenEvents(cfg)
	if err != nil {
		return err
	}
	return monitorEvents(ctx, ec, cmd.OutOrStdout(), cmd.ErrOrStderr(),
		monitorOpts.json)
}

// monitorEvents prints events from ec until ctx ends, then closes ec.
func monitorEvents(ctx context.Context, ec *pm.EventConn, out,
	errOut io.Writer, asJSON bool) error {
	stopped := context.AfterFunc(ctx, func() { ec.Close() })
	defer stopped()
	defer ec.Close()

	for {
		evs, err := ec.Receive()
		for i := range evs {
			if werr := writeEvent(out, &evs[i], asJSON); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, pm.ErrEventsLost):
			fmt.Fprintf(errOut, "mptcp-bpf-pm: %v\n", err)
		case errors.Is(err, net.ErrClosed) && ctx.Err() != nil:
			return nil
		default:
			return err
		}
	}
}

// monitorNames are the event names printed by "ip mptcp monitor".
var monitorNames = map[pm.EventType]string{
	pm.EventCreated:         "CREATED",
	pm.EventEstablished:     "ESTABLISHED",
	pm.EventClosed:          "CLOSED",
	pm.EventAnnounced:       "ANNOUNCED",
	pm.EventRemoved:         "REMOVED",
	pm.EventSubEstablished:  "SF_ESTABLISHED",
	pm.EventSubClosed:       "SF_CLOSED",
	pm.EventSubPriority:     "SF_PRIO",
	pm.EventListenerCreated: "LISTENER_CREATED",
	pm.EventListenerClosed:  "LISTENER_CLOSED",
}

func writeEvent(w io.Writer, e *pm.Event, asJSON bool) error {
	if asJSON {
		b, err := jsonLine(e)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err := io.WriteString(w, formatEvent(e)+"\n")
	return err
}

// formatEvent returns the "ip mptcp monitor" line of e, such as
// "[       CREATED] token=1a2b3c4d remid=0 locid=0 saddr4=...".
func formatEvent(e *pm.Event) string {
	name, ok := monitorNames[e.Type]
	if !ok {
		return fmt.Sprintf("[UNKNOWN %d]", uint8(e.Type))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "[%16s]", name)
	for _, f := range e.Fields() {
		sb.WriteString(" " + f.Key + "=" + f.Value)
	}
	return sb.String()
}
