package pm

// SetTrace makes c pass a copy of every datagram it reads to fn.
func SetTrace(c *Client, fn func([]byte)) { c.s.trace = fn }

// SetEventTrace makes e pass a copy of every datagram it reads to fn.
func SetEventTrace(e *EventConn, fn func([]byte)) { e.s.trace = fn }
