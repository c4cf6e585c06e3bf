package diag

// arenaChunk is how many values of one kind an arena allocates at once.
const arenaChunk = 256

// arena copies decoded sockets out of a decoder's reused storage. It
// allocates the pointed-to structs in chunks, so a dump of n sockets costs
// about n/arenaChunk allocations per kind instead of n.
type arena struct {
	tcpInfos   []TCPInfo
	subflows   []SubflowInfo
	mems       []MemInfo
	vegas      []VegasInfo
	dctcps     []DCTCPInfo
	bbrs       []BBRInfo
	mptcpInfos []MPTCPInfo
}

// keep copies *v into the chunk list s and returns the copy's address, or
// nil for a nil v.
func keep[T any](s *[]T, v *T) *T {
	if v == nil {
		return nil
	}
	if len(*s) == cap(*s) {
		*s = make([]T, 0, arenaChunk)
	}
	*s = append(*s, *v)
	return &(*s)[len(*s)-1]
}

func (a *arena) cloneTCP(s *TCPSocket) TCPSocket {
	v := *s
	v.Info = keep(&a.tcpInfos, s.Info)
	v.Subflow = keep(&a.subflows, s.Subflow)
	v.Mem = keep(&a.mems, s.Mem)
	v.Vegas = keep(&a.vegas, s.Vegas)
	v.DCTCP = keep(&a.dctcps, s.DCTCP)
	v.BBR = keep(&a.bbrs, s.BBR)
	return v
}

func (a *arena) cloneMPTCP(s *MPTCPSocket) MPTCPSocket {
	v := *s
	v.Info = keep(&a.mptcpInfos, s.Info)
	v.Mem = keep(&a.mems, s.Mem)
	return v
}
