// Package syslog forwards audit records to a central collector (a SIEM,
// rsyslog, syslog-ng) as RFC 5424 syslog messages. It is an additional sink:
// the local trail written by audit.Log stays the authoritative record, and
// forwarding never delays or changes a decision.
//
// # Contract
//
//   - Forward(line) is called by the audit Log with each record's JSON line
//     after the record is durable, in trail order. It never blocks: the line
//     is copied into a bounded queue, or, when the queue is full (collector
//     down or slow), dropped and counted in Dropped. A single background
//     sender writes the queue in order, reconnecting with exponential backoff
//     (100 ms doubling to 30 s) when the collector is unreachable. On a
//     stream transport it writes what is queued in batches (up to 256
//     messages or 256 KiB per write).
//   - Counters Sent, Dropped and Errors are exported; drops and errors since
//     the last report are logged periodically (Config.ReportEvery), and
//     connection losses and recoveries are logged when they happen.
//   - Close stops accepting lines, gives the sender a bounded time
//     (Config.FlushTimeout) to deliver what is queued, then closes the
//     connection. What it could not deliver is counted as dropped.
//
// # Transports (Config.URL)
//
//	udp://host[:514]            one message per datagram
//	tcp://host[:514]            octet-counting framing (RFC 6587 3.4.1)
//	tcp+tls://host[:6514]       the same over TLS (RFC 5425); tls:// is an alias
//	unix:///dev/log             datagram socket, or stream if the socket is one
//	unixgram:///path, unixstream:///path   force the socket type
//
// TLS verifies the collector's certificate against Config.CAFile (system
// roots when empty) and Config.ServerName (the URL's host when empty), at
// TLS 1.2 or later; Config.CertFile and Config.KeyFile add a client
// certificate for collectors that authenticate senders.
//
// # Message
//
//	<PRI>1 TIMESTAMP HOSTNAME docker-authz PROCID MSGID [audit@32473 seq="N" host="H"] JSON
//
// PRI is facility 13 (log audit) with severity notice for a deny and info
// otherwise; TIMESTAMP is the record's time; HOSTNAME is the record's host
// (so a collector can keep one file per host and `docker-authz audit
// verify` each host's chain); MSGID is the record's stage (request,
// response, checkpoint); the MSG is the record's JSON line exactly as in the
// local trail, without a BOM, so a collector that stores the message alone
// (rsyslog template "%msg%\n") reproduces a verifiable trail. 32473 is the
// private enterprise number reserved for documentation (RFC 5612);
// Config.SDID changes the structured data ID, and "-" sends NILVALUE.
//
// Plain TCP and TLS syslog have no acknowledgements: records in flight when a
// connection breaks can be lost, and one may be delivered twice after a
// reconnect. `audit verify` on the collected file shows such a loss as a
// sequence gap at the exact place; the local trail is complete. Collectors
// must accept messages as large as the largest record (rsyslog:
// global(maxMessageSize="64k")); over UDP a record larger than one datagram
// cannot be sent and is counted in Errors.
package syslog
