package pm

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// GoldenRecord is one captured datagram with the label written before it.
type GoldenRecord struct {
	Label string
	Data  []byte
}

// ReadGolden reads a file of "# label" lines, each followed by one line
// with the hex bytes of a datagram.
func ReadGolden(path string) ([]GoldenRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	var recs []GoldenRecord
	label := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			label = strings.TrimSpace(line[1:])
		default:
			b, err := hex.DecodeString(line)
			if err != nil {
				return nil, fmt.Errorf("%s: record %q: %w", path, label, err)
			}
			recs = append(recs, GoldenRecord{label, b})
		}
	}
	return recs, sc.Err()
}

// WriteGolden writes records in the format ReadGolden reads.
func WriteGolden(path, header string, recs []GoldenRecord) error {
	var sb strings.Builder
	sb.WriteString(header)
	for _, r := range recs {
		fmt.Fprintf(&sb, "# %s\n%x\n", r.Label, r.Data)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func netipMustParseAddrPort(s string) netip.AddrPort {
	return netip.MustParseAddrPort(s)
}

func nativeEndian() binary.AppendByteOrder { return binary.NativeEndian }
