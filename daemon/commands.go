package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// commandQueue carries batches of subflow requests from the event reader
// to the command worker. It never blocks the producer, so a slow kernel
// reply never delays the reading of events.
type commandQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  [][]pm.SubflowRequest
	closed bool
}

func newCommandQueue() *commandQueue {
	q := &commandQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *commandQueue) push(reqs []pm.SubflowRequest) {
	q.mu.Lock()
	q.queue = append(q.queue, reqs)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop returns every queued request as one batch, waiting for at least one.
// It returns nil after close.
func (q *commandQueue) pop() []pm.SubflowRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.closed {
		q.cond.Wait()
	}
	var batch []pm.SubflowRequest
	for _, reqs := range q.queue {
		batch = append(batch, reqs...)
	}
	q.queue = q.queue[:0]
	return batch
}

func (q *commandQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// runCommands sends queued SUBFLOW_CREATE requests. Each batch is
// pipelined: every request is sent before any acknowledgement is read.
func (d *Daemon) runCommands(ctx context.Context) error {
	for {
		batch := d.cmds.pop()
		if batch == nil {
			return nil
		}
		start := time.Now()
		errs := d.pm.SubflowCreateBatch(batch)
		elapsed := time.Since(start)
		for i, req := range batch {
			d.subflowCreated(req, errs[i], elapsed)
		}
	}
}

func (d *Daemon) subflowCreated(req pm.SubflowRequest, err error, elapsed time.Duration) {
	log := d.log.WithFields(logrus.Fields{
		"token":    req.Token,
		"local":    req.Local.Addr.String(),
		"local_id": req.Local.ID,
		"remote":   req.Remote.String(),
		"took":     elapsed.Round(time.Microsecond),
	})
	rec := eventRecord{
		Time:   timestamp(time.Now()),
		Type:   "subflow_create",
		Token:  req.Token,
		Local:  req.Local.Addr.String(),
		Remote: req.Remote.String(),
		Result: "ok",
	}
	id := req.Local.ID
	rec.LocalID = &id
	if err == nil {
		log.Info("subflow create requested")
		d.rec.event(rec)
		return
	}
	rec.Result = err.Error()
	d.rec.event(rec)
	log.WithError(err).Warn("subflow create failed")

	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.SubflowsFailed++
	if c := d.conns[req.Token]; c != nil {
		if sf := c.findPending(req.Local.Addr, req.Remote); sf != nil {
			sf.State = subflowClosed
		}
	}
}
