// Package owner makes users owners of the containers, volumes and networks
// they create, so that several users can share one dockerd without touching
// each other's work (serve --ownership). It implements authz.Enricher.
//
// Contract:
//   - Ownership is the label com.docker-authz.owner=<user> (Label). A plugin
//     cannot modify requests, so a create must carry it: container, volume
//     and network create raise owner-label=self|other|missing, and the
//     baseline profile allows only self; the deny message shows the flag
//     to add (--label com.docker-authz.owner=alice). Labels live in dockerd
//     and cannot be changed after create, so ownership survives plugin
//     restarts with no local state, and objects created before the plugin
//     (no label) belong to no one: ownership=none, which only roles granted
//     `ownership, *` (ownership:any) may touch. The create's AuthZRes is
//     not used: it only comes after the fact and a local record of it
//     would be a second source of truth that can be lost or diverge.
//   - Every request on one object raises ownership=own|other|none: the
//     container routes by name, id or id prefix (start, stop, kill, rm, exec,
//     attach, logs, top, stats, archive, export, update, rename, wait, pause,
//     inspect, ...), commit ?container=, exec start/resize/inspect through
//     the exec's container, volume inspect/rm, network
//     inspect/rm/connect/disconnect (and the container a connect names),
//     everything a container create (or an API < 1.24 start body, which
//     dockerd still applies) reaches into: the named volumes it mounts, the
//     containers whose namespaces it joins (--network container:x), links to
//     (--link, whose environment dockerd copies into the new container; also
//     NetworkingConfig endpoint links) and mounts the volumes of
//     (--volumes-from), and the user-defined networks it attaches to
//     (NetworkMode, every NetworkingConfig endpoint); the volumes and networks
//     of a service create/update; and prune (own only with the filter
//     label=com.docker-authz.owner=<user>, which dockerd ANDs with the rest).
//     An object that does not exist is "none". The built-in networks (default,
//     bridge, host, none: dockerd refuses these names to users) are no one's
//     and need no lookup; named by id they are recognised by name after the
//     lookup, and the host network so named raises hostns=network. Lists raise
//     list-filter=own|unfiltered. Start, restart and unpause of one's own
//     container raise running-containers=N, the caller's running containers
//     (by label) once this one runs.
//   - References are resolved by dockerd itself (GET inspect), so names, full
//     ids and unique id prefixes mean exactly what they will mean when dockerd
//     runs the request; an ambiguous prefix is dockerd's error, and so a deny.
//     dockerd tries the full id, then the name, then the id prefix, so a
//     container or network NAME that is also a prefix of another object's id
//     (a user can name hers after bob's 12-character id) would be redirected
//     to that object the moment she renames or removes hers, which she can do
//     while her request is in flight: such a name raises, besides its own
//     facet, ownership=other (or none) for every object it prefixes that is
//     not the caller's, found by listing (uncached), and the message says to
//     use the full id. A lookup that fails or takes longer than the timeout
//     (2s) denies the request with a message (fail closed).
//
// The lookups and dockerd's authorization (why it cannot deadlock):
//
// The resolver calls dockerd's API over its unix socket, so dockerd asks
// the plugin about each lookup while the request that caused it is waiting
// for its own answer. Three rules make that safe:
//
//  1. Identity. Each lookup carries a random 256-bit token generated at
//     start-up (TokenHeader; redacted in the audit trail because its name
//     contains "token"). dockerd forwards request headers to plugins;
//     Enricher.Internal accepts a request as a lookup only if the token
//     matches (constant time), it came without a client certificate
//     (dockerd's unix socket, i.e. from root on the host) and it is a GET
//     of a read-only route (container/exec/volume/network inspect,
//     container and network list, events, ping, version). It is audited as
//     docker-authz:lookup. A header with the wrong token, over TLS, or on
//     another route is a deny. The token is not a policy subject: no
//     policy can widen or break what lookups may do.
//  2. No recursion. authz.Server asks Internal before Enrich, and a lookup
//     is answered without Enrich and without policy: answering it never
//     needs another lookup, so the wait graph has depth one.
//  3. Bounded waits. dockerd serves requests concurrently and the plugin's
//     HTTP server too, so the lookup's AuthZReq is answered while the
//     original one waits. Every lookup has a 2s deadline (--lookup-timeout),
//     Enrich as a whole 5s; the events stream must answer within the same
//     timeout or is retried with backoff.
//
// The Docker API client is github.com/docker/docker/client (v20.10, which
// needs github.com/docker/go-connections v0.4.0: later releases dropped
// sockets.DialPipe), pinned to API version 1.41 (APIVersion, no version
// negotiation), over dockerd's unix socket only (--docker-host
// unix:///path; TCP would need the plugin's own client certificate). Every
// request carries TokenHeader and the User-Agent docker-authz-owner-lookup.
// An answer is read to at most 32 MiB (a longer one fails the lookup, so
// the request is denied); only the events stream is unbounded. A redirect
// fails the lookup instead of being followed. A 404 is "no such object".
// The events subscription counts as connected once dockerd has answered
// the events request with 2xx, as seen by the transport under the client
// before client.Events returns (an empty error channel right after Events
// returns proves nothing: on failure Events returns before it sends the
// error).
//
// Cache: a bounded LRU (4096 entries, 60s TTL) keyed by the reference a
// request used. It is used only while the /events subscription is up; a
// lost stream flushes it, and a resubscription asks for the events since
// just before the flush, so no invalidation is missed. Container create,
// rename and destroy drop every entry resolved to that id, named by its old
// or new name, or whose reference is a prefix of its id (a new container
// can take over a cached name or prefix); volume and network create and
// destroy likewise. Each invalidation bumps a generation so that a lookup
// that raced the event does not store what it saw. The remaining race —
// dockerd re-pointing a reference between the decision and the execution
// (a few milliseconds, the same as without a cache) — needs another user
// to act in that window: to remove or rename his object and create one
// under its name or with its id prefix (random, 256 bits). The caller alone
// cannot win it: the one way she could, a name of hers that is another
// user's id prefix, is refused as described above.
//
// Not covered (see README): images (shared, no owner), swarm services,
// secrets and configs themselves (no owner: only the volumes and networks a
// service spec uses are checked), the events and df endpoints (they show
// other users' names), and objects created implicitly
// (`docker run -v name:/x` with a volume that does not exist yet raises
// ownership=none, since dockerd would create it without a label: create
// volumes first, with the label).
package owner
