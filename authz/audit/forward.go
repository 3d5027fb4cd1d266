package audit

// Forwarder receives each record's line (JSON, no newline) after it is durable. Forward must not block.
//
// The Log calls every Forwarder from its single writer goroutine, for every
// record it writes (request, response and checkpoint records), right after
// the group-commit fsync that made the record durable succeeded, in sequence
// order. A record that failed to reach the disk is never forwarded. The line
// slice is only valid during the call: a Forwarder that keeps it must copy it.
// Because the writer is shared by every decision, Forward must return at
// once (queue and drop, counting drops, rather than wait).
type Forwarder interface {
	Forward(line []byte)
}

// forward hands the lines of a durable batch to the forwarders. buf holds the
// batch's lines, each ending in '\n', in sequence order.
func forward(fw []Forwarder, buf []byte) {
	if len(fw) == 0 {
		return
	}
	for len(buf) > 0 {
		i := 0
		for i < len(buf) && buf[i] != '\n' {
			i++
		}
		line := buf[:i:i]
		for _, f := range fw {
			f.Forward(line)
		}
		if i == len(buf) {
			return
		}
		buf = buf[i+1:]
	}
}
