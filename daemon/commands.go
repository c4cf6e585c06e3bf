package daemon

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// job is one unit of work for the command worker: SUBFLOW_CREATE requests,
// which the worker pipelines with those of other jobs, or any other
// command as a function.
type job struct {
	creates []pm.SubflowRequest
	fn      func()
}

// commandQueue carries jobs from the event reader and the timers to the
// command worker. push never blocks, so a slow kernel reply never delays
// the reading of events.
type commandQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []job
	closed bool
}

func newCommandQueue() *commandQueue {
	q := &commandQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *commandQueue) push(j job) {
	q.mu.Lock()
	q.queue = append(q.queue, j)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop returns every queued job, waiting for at least one. It returns nil
// after close.
func (q *commandQueue) pop() []job {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	jobs := q.queue
	q.queue = nil
	return jobs
}

func (q *commandQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// runCommands runs queued jobs. The SUBFLOW_CREATE requests of all queued
// jobs go out as one pipelined batch: every request is sent before any
// acknowledgement is read.
func (d *Daemon) runCommands(ctx context.Context) error {
	for {
		jobs := d.cmds.pop()
		if jobs == nil {
			return nil
		}
		var batch []pm.SubflowRequest
		for _, j := range jobs {
			batch = append(batch, j.creates...)
		}
		if len(batch) > 0 {
			start := time.Now()
			errs := d.pm.SubflowCreateBatch(batch)
			elapsed := time.Since(start)
			for i, req := range batch {
				d.subflowCreated(req, errs[i], elapsed)
			}
		}
		for _, j := range jobs {
			if j.fn != nil {
				j.fn()
			}
		}
	}
}

func (d *Daemon) subflowCreated(req pm.SubflowRequest, err error, elapsed time.Duration) {
	fields := logrus.Fields{
		"token":    req.Token,
		"local":    req.Local.Addr.String(),
		"local_id": req.Local.ID,
		"remote":   req.Remote.String(),
		"backup":   req.Local.Flags&pm.FlagBackup != 0,
		"took":     elapsed.Round(time.Microsecond),
	}
	d.recordAction("subflow_create", req.Token, req.Local.Addr.String(), req.Remote.String(), &req.Local.ID, err)
	d.metrics.Command("subflow_create", err)
	if err == nil {
		d.log.WithFields(fields).Info("subflow create requested")
		return
	}
	d.mu.Lock()
	d.stats.SubflowsFailed++
	if c := d.conns[req.Token]; c != nil {
		if sf := c.findPending(req.Local.Addr, req.Remote); sf != nil {
			sf.State = subflowClosed
			sf.Since = time.Now()
		}
	}
	d.mu.Unlock()
	if d.limit.allow("subflow create failed", req.Local.Addr.String(), req.Remote.String()) {
		d.log.WithFields(fields).WithError(err).Warn("subflow create failed; retrying when an address, route or link changes")
	}
}

// recordAction writes one of the daemon's own commands to events.jsonl.
func (d *Daemon) recordAction(typ string, token uint32, local, remote string, localID *uint8, err error) {
	if d.rec == nil {
		return
	}
	r := eventRecord{
		Time:    timestamp(time.Now()),
		Type:    typ,
		Token:   token,
		Local:   local,
		Remote:  remote,
		LocalID: localID,
		Result:  "ok",
	}
	if err != nil {
		r.Result = err.Error()
	}
	d.rec.event(r)
}

// destroySubflow queues a SUBFLOW_DESTROY of sf, whose wire addresses
// the caller copies under d.mu.
func (d *Daemon) destroySubflow(token uint32, local, remote netip.AddrPort, why string) {
	d.cmds.push(job{fn: func() {
		err := d.pm.SubflowDestroy(token, local, remote)
		d.metrics.Command("subflow_destroy", err)
		d.recordAction("subflow_destroy", token, local.String(), remote.String(), nil, err)
		log := d.log.WithFields(logrus.Fields{"token": token, "local": local.String(), "remote": remote.String(), "reason": why})
		if err != nil {
			log.WithError(err).Warn("subflow destroy failed")
			return
		}
		log.Info("subflow destroyed")
	}})
}
