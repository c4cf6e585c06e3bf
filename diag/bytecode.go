package diag

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// inet_diag bytecode operations (INET_DIAG_BC_*).
const (
	bcJmp     = 1
	bcSCond   = 7
	bcDCond   = 8
	bcDevCond = 9
	bcSEq     = 11
	bcDEq     = 12
)

// The kernel runs bytecode as a list of struct inet_diag_bc_op {code u8,
// yes u8, no u16}: a true condition moves on by yes bytes, a false one by
// no bytes. A jump to exactly the end accepts the socket, a jump 4 bytes
// past it rejects the socket. The kernel's audit of the program follows
// only the yes offsets, so every yes points at the next operation and all
// branching is done with no offsets and JMP operations (whose condition is
// always false).

// compileBytecode returns the program for the kernel-side filters of r,
// or nil when r has none. The program is the AND of clauses, each clause
// the OR of its conditions.
func compileBytecode(r *Request) []byte {
	var clauses [][][]byte
	add := func(conds ...[]byte) { clauses = append(clauses, conds) }
	if r.SrcPort != 0 {
		add(portCond(bcSEq, r.SrcPort))
	}
	if r.DstPort != 0 {
		add(portCond(bcDEq, r.DstPort))
	}
	if r.Port != 0 {
		add(portCond(bcSEq, r.Port), portCond(bcDEq, r.Port))
	}
	if r.Src.IsValid() {
		add(hostCond(bcSCond, r.Src))
	}
	if r.Dst.IsValid() {
		add(hostCond(bcDCond, r.Dst))
	}
	if r.IfIndex != 0 {
		add(devCond(r.IfIndex))
	}
	if len(clauses) == 0 {
		return nil
	}
	return assemble(clauses)
}

func assemble(clauses [][][]byte) []byte {
	total := 0
	for _, c := range clauses {
		total += clauseLen(c)
	}

	prog := make([]byte, 0, total)
	for _, c := range clauses {
		end := len(prog) + clauseLen(c)
		for i, cond := range c {
			pos := len(prog)
			if i < len(c)-1 {
				// True: fall into the JMP that leaves the clause.
				// False: skip the JMP to the next condition.
				prog = append(prog, setJumps(cond, len(cond), len(cond)+4)...)
				jmpPos := len(prog)
				prog = append(prog, op(bcJmp, 4, end-jmpPos)...)
				continue
			}
			// The last condition of a clause rejects when false.
			prog = append(prog, setJumps(cond, len(cond), total+4-pos)...)
		}
	}
	return prog
}

func clauseLen(c [][]byte) int {
	n := 4 * (len(c) - 1) // one JMP after each condition but the last
	for _, cond := range c {
		n += len(cond)
	}
	return n
}

func op(code uint8, yes, no int) []byte {
	b := make([]byte, 4)
	b[0] = code
	b[1] = uint8(yes)
	binary.NativeEndian.PutUint16(b[2:], uint16(no))
	return b
}

func setJumps(cond []byte, yes, no int) []byte {
	cond[1] = uint8(yes)
	binary.NativeEndian.PutUint16(cond[2:], uint16(no))
	return cond
}

// portCond compares the local (bcSEq) or remote (bcDEq) port, in host
// byte order, carried in the no field of a second operation.
func portCond(code uint8, port uint16) []byte {
	b := op(code, 0, 0)
	return append(b, op(0, 0, int(port))...)
}

// hostCond matches an address prefix with struct inet_diag_hostcond
// {family u8, prefix_len u8, port int32 (-1: any), addr}.
func hostCond(code uint8, p netip.Prefix) []byte {
	p = p.Masked()
	a := p.Addr()
	b := op(code, 0, 0)
	var hc [8]byte
	hc[0] = unix.AF_INET6
	if a.Is4() {
		hc[0] = unix.AF_INET
	}
	hc[1] = uint8(p.Bits())
	binary.NativeEndian.PutUint32(hc[4:], ^uint32(0))
	b = append(b, hc[:]...)
	return append(b, a.AsSlice()...)
}

// devCond matches the bound interface index (u32).
func devCond(ifindex uint32) []byte {
	b := op(bcDevCond, 0, 0)
	return binary.NativeEndian.AppendUint32(b, ifindex)
}
