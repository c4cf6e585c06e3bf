package pm

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"golang.org/x/sys/unix"
)

// dialNS dials a Client in a fresh namespace.
func dialNS(t *testing.T) *Client {
	t.Helper()
	ns := nstest.NewNS(t, "pmack")
	f, err := os.Open(ns.Path())
	if err != nil {
		t.Fatalf("open netns: %v", err)
	}
	defer f.Close()
	c, err := Dial(&Config{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// doRaw sends a request whose attributes fn writes and returns the
// typed error.
func doRaw(t *testing.T, c *Client, cmd uint8,
	fn func(ae *netlink.AttributeEncoder)) *Error {
	t.Helper()
	r, err := newRequest("raw", cmd, "", fn)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	_, err = c.do(r)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v, want *Error", err)
	}
	return pe
}

func TestErrorMissingAttr(t *testing.T) {
	c := dialNS(t)
	pe := doRaw(t, c, cmdSubflowCreate, func(ae *netlink.AttributeEncoder) {
		encodeAddrNest(ae, attrAddr, Local{ID: 1})
		ae.Uint32(attrToken, 1)
	})

	if pe.Errno != unix.EINVAL {
		t.Errorf("errno = %v, want EINVAL", pe.Errno)
	}
	if pe.MissingAttr != attrAddrRemote {
		t.Errorf("missing attribute = %d, want %d", pe.MissingAttr, attrAddrRemote)
	}
	if pe.MissingName != "ADDR_REMOTE" {
		t.Errorf("missing name = %q, want ADDR_REMOTE", pe.MissingName)
	}
	if !strings.Contains(pe.Error(), "raw: missing attribute ADDR_REMOTE") {
		t.Errorf("error text %q does not name the missing attribute", pe)
	}
}

func TestErrorPolicy(t *testing.T) {
	c := dialNS(t)
	pe := doRaw(t, c, cmdRemove, func(ae *netlink.AttributeEncoder) {
		ae.Uint8(attrLocID, 1)
		ae.Uint16(attrToken, 1)
	})

	if pe.Errno != unix.ERANGE {
		t.Errorf("errno = %v, want ERANGE", pe.Errno)
	}
	if pe.Attr != "TOKEN" {
		t.Errorf("attribute = %q, want TOKEN", pe.Attr)
	}
	if pe.Policy != "u32" {
		t.Errorf("policy = %q, want u32", pe.Policy)
	}
	if pe.Message != "Attribute failed policy validation" {
		t.Errorf("message = %q", pe.Message)
	}
}

func TestErrorNestedAttr(t *testing.T) {
	c := dialNS(t)
	pe := doRaw(t, c, cmdAddAddr, func(ae *netlink.AttributeEncoder) {
		ae.Nested(attrAddr, func(nae *netlink.AttributeEncoder) error {
			nae.Uint16(addrAttrFamily, 99)
			return nil
		})
	})

	if pe.Message != "unknown address family" {
		t.Errorf("message = %q, want unknown address family", pe.Message)
	}
	if !strings.HasPrefix(pe.Attr, "ADDR") {
		t.Errorf("attribute = %q, want ADDR or inside it", pe.Attr)
	}
}
