// Command rttcap is an example optimizer for mptcp-bpf-pm --optimizer. It
// caps every subflow whose smoothed RTT is more than -factor times the
// lowest smoothed RTT of the connection, at -cap segments, and leaves the
// others uncapped. A subflow without an RTT sample yet is left uncapped.
//
// It reads the connection as JSON on stdin and prints a JSON array with
// one cap per subflow on stdout, as docs/OPTIMIZER.md describes.
//
//	go build -o rttcap ./tools/optimizers/rttcap
//	mptcp-bpf-pm run --optimizer ./rttcap
//
// To change -factor or -cap, point --optimizer at a one-line wrapper
// script such as: exec /usr/local/bin/rttcap -factor=3 -cap=20
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

// subflow holds the input fields this optimizer uses.
type subflow struct {
	SRTT uint32 `json:"srtt_us"`
}

type input struct {
	Subflows []subflow `json:"subflows"`
}

func main() {
	factor := flag.Float64("factor", 2, "cap subflows whose smoothed RTT"+
		" exceeds this multiple of the lowest one")
	limit := flag.Uint("cap", 10, "cap in segments for slow subflows")
	flag.Parse()

	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "rttcap: read input:", err)
		os.Exit(1)
	}
	out, err := json.Marshal(caps(in.Subflows, *factor, uint32(*limit)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rttcap:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

// caps returns limit for every subflow slower than factor times the
// fastest, and 0 for the others.
func caps(subs []subflow, factor float64, limit uint32) []uint32 {
	lowest := uint32(0)
	for _, s := range subs {
		if s.SRTT > 0 && (lowest == 0 || s.SRTT < lowest) {
			lowest = s.SRTT
		}
	}
	out := make([]uint32, len(subs))
	for i, s := range subs {
		if s.SRTT > 0 && float64(s.SRTT) > factor*float64(lowest) {
			out[i] = limit
		}
	}
	return out
}
