package diag

import (
	"fmt"
	"strings"
)

// State is a TCP socket state as numbered by the kernel (enum in
// include/net/tcp_states.h). MPTCP sockets use the same numbers.
type State uint8

// TCP states. NewSynRecv is a request socket (a half-open connection) and
// BoundInactive a socket that is bound but neither listening nor
// connected.
const (
	StateEstablished   State = 1
	StateSynSent       State = 2
	StateSynRecv       State = 3
	StateFinWait1      State = 4
	StateFinWait2      State = 5
	StateTimeWait      State = 6
	StateClose         State = 7
	StateCloseWait     State = 8
	StateLastAck       State = 9
	StateListen        State = 10
	StateClosing       State = 11
	StateNewSynRecv    State = 12
	StateBoundInactive State = 13
)

var stateNames = [...]string{
	StateEstablished:   "ESTAB",
	StateSynSent:       "SYN-SENT",
	StateSynRecv:       "SYN-RECV",
	StateFinWait1:      "FIN-WAIT-1",
	StateFinWait2:      "FIN-WAIT-2",
	StateTimeWait:      "TIME-WAIT",
	StateClose:         "CLOSE",
	StateCloseWait:     "CLOSE-WAIT",
	StateLastAck:       "LAST-ACK",
	StateListen:        "LISTEN",
	StateClosing:       "CLOSING",
	StateNewSynRecv:    "NEW-SYN-RECV",
	StateBoundInactive: "BOUND-INACTIVE",
}

// String returns the name that ss prints for the state, such as "ESTAB".
func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return fmt.Sprintf("STATE(%d)", uint8(s))
}

// ParseState returns the state named name, in the spelling of String or
// of the kernel constant without its TCP_ prefix ("established",
// "time_wait"); case is ignored.
func ParseState(name string) (State, error) {
	n := strings.ToUpper(strings.ReplaceAll(name, "_", "-"))
	if n == "ESTABLISHED" {
		return StateEstablished, nil
	}
	for s, str := range stateNames {
		if str != "" && str == n {
			return State(s), nil
		}
	}
	return 0, fmt.Errorf("invalid TCP state %q: want a name such as established, listen or time-wait", name)
}

// Mask returns the idiag_states bit of s.
func (s State) Mask() uint32 { return 1 << s }

// States returns the idiag_states mask that selects the given states.
func States(states ...State) uint32 {
	var m uint32
	for _, s := range states {
		m |= s.Mask()
	}
	return m
}

// State masks for Request.States.
const (
	// AllStates selects every state, listeners and time-wait included.
	AllStates uint32 = 0xffffffff

	// ConnectedStates is the default of Request.States: every state
	// from ESTABLISHED to NEW-SYN-RECV except LISTEN and TIME-WAIT.
	ConnectedStates uint32 = 1<<StateEstablished | 1<<StateSynSent |
		1<<StateSynRecv | 1<<StateFinWait1 | 1<<StateFinWait2 |
		1<<StateClose | 1<<StateCloseWait | 1<<StateLastAck |
		1<<StateClosing | 1<<StateNewSynRecv
)

// MarshalText returns the name of s, so JSON shows "ESTAB" and not 1.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a name accepted by ParseState or a "STATE(n)"
// number written by String.
func (s *State) UnmarshalText(b []byte) error {
	var n uint8
	if _, err := fmt.Sscanf(string(b), "STATE(%d)", &n); err == nil {
		*s = State(n)
		return nil
	}
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
