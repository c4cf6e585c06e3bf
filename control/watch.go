package control

import (
	"context"
	"net"
	"time"
)

// DefaultWatchInterval is the period of a watch stream whose request
// gives none.
const DefaultWatchInterval = time.Second

// serveWatch sends an Update every interval until the client closes the
// connection, a write fails or ctx is done.
func serveWatch(ctx context.Context, c *net.UnixConn, h Handler, req Request) {
	interval := DefaultWatchInterval
	if req.IntervalMs != 0 {
		interval = time.Duration(req.IntervalMs) * time.Millisecond
	}
	if interval < MinWatchInterval || interval > MaxWatchInterval {
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		writeResponse(c, Response{Error: invalidf("invalid watch interval %dms: want %d to %d",
			req.IntervalMs, MinWatchInterval.Milliseconds(), MaxWatchInterval.Milliseconds())})
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// The client sends nothing more; a read returns when it
		// closes its end.
		var b [1]byte
		c.Read(b[:])
		cancel()
	}()

	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		resp := watchUpdate(h)
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := writeResponse(c, resp); err != nil || resp.Error != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func watchUpdate(h Handler) (resp Response) {
	defer func() {
		if p := recover(); p != nil {
			resp = Response{Error: &Error{Code: CodeFailed, Message: "internal error in watch"}}
		}
	}()
	u := Update{Time: time.Now(), Connections: nonNil(h.Connections())}
	return Response{Update: &u}
}
