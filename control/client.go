package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// DefaultSocket is the default control socket path of a daemon in the
// initial network namespace. Daemons in other namespaces default to other
// names in the same directory.
const DefaultSocket = "/run/mptcp-bpf-pm/control.sock"

// Client calls a daemon's control socket. Each call opens its own
// connection, so a Client is safe for concurrent use.
type Client struct {
	path    string
	timeout time.Duration
}

// Dial checks that a daemon listens at path and returns a client for it.
// The error wraps os.ErrNotExist when no socket file exists and
// syscall.ECONNREFUSED when the file is stale.
func Dial(path string) (*Client, error) {
	c := &Client{path: path, timeout: 10 * time.Second}
	conn, err := c.connect(context.Background())
	if err != nil {
		return nil, err
	}
	conn.Close()
	return c, nil
}

func (c *Client) connect(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		return nil, fmt.Errorf("connect to control socket: %w", err)
	}
	return conn, nil
}

// call sends req and decodes the one response.
func (c *Client) call(req Request) (*Response, error) {
	conn, err := c.connect(context.Background())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(c.timeout))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, fmt.Errorf("send %s request: %w", req.Op, err)
	}
	resp, err := readResponse(bufio.NewReader(conn))
	if err != nil {
		return nil, fmt.Errorf("read %s response: %w", req.Op, err)
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	return resp, nil
}

func readResponse(r *bufio.Reader) (*Response, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("malformed response: %w", err)
	}
	return &resp, nil
}

// Status returns the daemon's identity and options.
func (c *Client) Status() (Status, error) {
	resp, err := c.call(Request{Op: OpStatus})
	if err != nil {
		return Status{}, err
	}
	if resp.Status == nil {
		return Status{}, errors.New("status response without status")
	}
	return *resp.Status, nil
}

// Connections returns the daemon's connections and subflows.
func (c *Client) Connections() ([]Connection, error) {
	resp, err := c.call(Request{Op: OpConnections})
	if err != nil {
		return nil, err
	}
	return nonNil(resp.Connections), nil
}

// AddAddress makes the daemon open subflows from a.
func (c *Client) AddAddress(a netip.Addr) error {
	_, err := c.call(Request{Op: OpAddAddress, Address: a.String()})
	return err
}

// RemoveAddress makes the daemon stop using a.
func (c *Client) RemoveAddress(a netip.Addr) error {
	_, err := c.call(Request{Op: OpRemoveAddress, Address: a.String()})
	return err
}

// SetOption changes a run-time option of the daemon.
func (c *Client) SetOption(key, value string) error {
	_, err := c.call(Request{Op: OpSetOption, Key: key, Value: value})
	return err
}

// CreateSubflow requests one subflow from the daemon.
func (c *Client) CreateSubflow(s SubflowRequest) error {
	_, err := c.call(Request{Op: OpCreateSubflow, Subflow: &s})
	return err
}

// Watch calls fn with an Update every interval until ctx is done, fn
// returns an error or the daemon closes the stream. It returns nil when
// ctx ends the stream.
func (c *Client) Watch(ctx context.Context, interval time.Duration, fn func(Update) error) error {
	conn, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	req := Request{Op: OpWatch, IntervalMs: interval.Milliseconds()}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return fmt.Errorf("send watch request: %w", err)
	}
	r := bufio.NewReader(conn)
	for {
		resp, err := readResponse(r)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read watch stream: %w", err)
		}
		if resp.Error != nil {
			return resp.Error
		}
		if resp.Update == nil {
			return errors.New("watch stream sent a response without update")
		}
		if err := fn(*resp.Update); err != nil {
			return err
		}
	}
}
