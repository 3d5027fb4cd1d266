package owner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz"
)

// Label is the label that names an object's owner.
const Label = "com.docker-authz.owner"

// TokenHeader carries the resolver's per-process secret on its own Docker
// API calls, so the plugin recognises them when dockerd asks it about them.
// Its name contains "token": the audit trail redacts it.
const TokenHeader = "X-Docker-Authz-Lookup-Token"

// LookupUser is the user name the audit trail shows for the resolver's own
// requests. It contains ':' so no policy rule and no user name can be it.
const LookupUser = authz.LookupUserName

// APIVersion is the Docker API version the resolver speaks (dockerd 20.10).
const APIVersion = "1.41"

// ErrNotFound means dockerd knows no such object.
var ErrNotFound = errors.New("no such object")

// Object is a resolved container, volume or network.
type Object struct {
	Kind  string // container, volume, network
	ID    string // full id (for a volume: its name)
	Name  string // name without the leading "/"
	Owner string // value of the owner label; "" when unlabelled
}

// Config configures a Resolver.
type Config struct {
	Host      string        // dockerd's API, e.g. unix:///var/run/docker.sock
	Timeout   time.Duration // bound on one lookup (default 2s)
	CacheSize int           // entries (default 4096; negative: no cache)
	TTL       time.Duration // an entry's lifetime even without events (default 60s)
	Log       logrus.FieldLogger
	Clock     func() time.Time // tests
}

// Resolver looks up owners through the Docker API. It is safe for
// concurrent use. Create it with New, then Start its events subscription.
type Resolver struct {
	cfg   Config
	cli   *dockerAPI
	token string
	cache *cache
	live  atomic.Bool // events stream connected: cached entries may be used

	Lookups, Hits, Invalidations atomic.Uint64

	stopOnce sync.Once
	stop     context.CancelFunc
	done     chan struct{}
}

// New returns a Resolver for cfg. It does not contact dockerd.
func New(cfg Config) (*Resolver, error) {
	if cfg.Host == "" {
		cfg.Host = "unix:///var/run/docker.sock"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 4096
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 60 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		cfg.Log = l
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(b[:])
	cli, err := newDockerAPI(cfg.Host, token)
	if err != nil {
		return nil, err
	}
	return &Resolver{cfg: cfg, cli: cli, token: token, cache: newCache(cfg.CacheSize, cfg.TTL, cfg.Clock)}, nil
}

// Token is the secret the resolver's requests carry in TokenHeader.
func (r *Resolver) Token() string { return r.token }

// Live reports whether the events subscription is connected (and so the
// cache is in use).
func (r *Resolver) Live() bool { return r.live.Load() }

// refRe is what a container, volume or network reference may look like:
// names ([a-zA-Z0-9][a-zA-Z0-9_.-]*, containers with an optional leading
// "/"), ids and id prefixes. Anything else is refused before it reaches
// dockerd's API as a path.
var refRe = regexp.MustCompile(`^/?[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$`)

func checkRef(kind, ref string) error {
	if !refRe.MatchString(ref) {
		return fmt.Errorf("%s reference %q is not a name, id or id prefix docker-authz can look up", kind, ref)
	}
	return nil
}

// lookup runs fetch under the resolver's timeout and caches its result.
func (r *Resolver) lookup(ctx context.Context, kind, ref string, fetch func(ctx context.Context) (Object, error)) (Object, error) {
	if err := checkRef(kind, ref); err != nil {
		return Object{}, err
	}
	if r.live.Load() {
		if o, ok := r.cache.get(kind, ref); ok {
			r.Hits.Add(1)
			return o, nil
		}
	}
	r.Lookups.Add(1)
	gen := r.cache.generation()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	o, err := fetch(ctx)
	if err != nil {
		if isNotFound(err) {
			return Object{}, fmt.Errorf("%s %q: %w", kind, ref, ErrNotFound)
		}
		if ctx.Err() != nil {
			return Object{}, fmt.Errorf("looking up %s %q through the Docker API timed out after %v (is --docker-host %s reachable?)", kind, ref, r.cfg.Timeout, r.cfg.Host)
		}
		return Object{}, fmt.Errorf("looking up %s %q through the Docker API: %v", kind, ref, err)
	}
	r.cache.put(kind, ref, o, gen)
	return o, nil
}

// Container resolves a container name, id or unique id prefix the way
// dockerd does (it is dockerd that resolves it).
func (r *Resolver) Container(ctx context.Context, ref string) (Object, error) {
	return r.lookup(ctx, "container", ref, func(ctx context.Context) (Object, error) {
		return r.inspectContainer(ctx, ref)
	})
}

func (r *Resolver) inspectContainer(ctx context.Context, ref string) (Object, error) {
	c, err := r.cli.ContainerInspect(ctx, ref)
	if err != nil {
		return Object{}, err
	}
	if c.ContainerJSONBase == nil || c.ID == "" {
		return Object{}, fmt.Errorf("dockerd's answer about container %q has no id", ref)
	}
	return containerObject(c.ID, c.Name, c.Config), nil
}

func containerObject(id, name string, cfg *container.Config) Object {
	o := Object{Kind: "container", ID: id, Name: strings.TrimPrefix(name, "/")}
	if cfg != nil {
		o.Owner = cfg.Labels[Label]
	}
	return o
}

// Exec resolves an exec id to its container.
func (r *Resolver) Exec(ctx context.Context, execID string) (Object, error) {
	return r.lookup(ctx, "exec", execID, func(ctx context.Context) (Object, error) {
		e, err := r.cli.ContainerExecInspect(ctx, execID)
		if err != nil {
			return Object{}, err
		}
		if e.ContainerID == "" {
			return Object{}, fmt.Errorf("exec %q has no container", execID)
		}
		// dockerd's answer goes into a path too (see dockerAPI).
		if err := checkRef("container", e.ContainerID); err != nil {
			return Object{}, fmt.Errorf("exec %q: %v", execID, err)
		}
		return r.inspectContainer(ctx, e.ContainerID)
	})
}

// Volume resolves a volume name.
func (r *Resolver) Volume(ctx context.Context, name string) (Object, error) {
	return r.lookup(ctx, "volume", name, func(ctx context.Context) (Object, error) {
		v, err := r.cli.VolumeInspect(ctx, name)
		if err != nil {
			return Object{}, err
		}
		return Object{Kind: "volume", ID: v.Name, Name: v.Name, Owner: v.Labels[Label]}, nil
	})
}

// Network resolves a network name, id or unique id prefix.
func (r *Resolver) Network(ctx context.Context, ref string) (Object, error) {
	return r.lookup(ctx, "network", ref, func(ctx context.Context) (Object, error) {
		n, err := r.cli.NetworkInspect(ctx, ref, types.NetworkInspectOptions{})
		if err != nil {
			return Object{}, err
		}
		return Object{Kind: "network", ID: n.ID, Name: n.Name, Owner: n.Labels[Label]}, nil
	})
}

// Running returns the ids of the running, paused or restarting containers
// labelled as owned by user. Never cached: a quota needs the current count.
func (r *Resolver) Running(ctx context.Context, user string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	r.Lookups.Add(1)
	f := filters.NewArgs(filters.Arg("label", Label+"="+user),
		filters.Arg("status", "running"), filters.Arg("status", "paused"), filters.Arg("status", "restarting"))
	// Limit -1: no limit parameter (the client would send limit=0).
	list, err := r.cli.ContainerList(ctx, types.ContainerListOptions{All: true, Limit: -1, Filters: f})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("counting %s's running containers through the Docker API timed out after %v (is --docker-host %s reachable?)", user, r.cfg.Timeout, r.cfg.Host)
		}
		return nil, fmt.Errorf("counting %s's running containers through the Docker API: %v", user, err)
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		if c.Labels[Label] == user { // dockerd filtered; checked again
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// Start subscribes to dockerd's events to invalidate the cache, and keeps
// the subscription up (reconnecting with backoff) until Close. While it is
// down the cache is not used: every request is looked up afresh.
func (r *Resolver) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	go r.watch(ctx)
}

// Close ends the events subscription.
func (r *Resolver) Close() {
	r.stopOnce.Do(func() {
		if r.stop != nil {
			r.stop()
			<-r.done
		}
		_ = r.cli.Close()
	})
}

func (r *Resolver) watch(ctx context.Context) {
	defer close(r.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		connected := r.subscribe(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

// subscribe runs one events stream until it fails, and reports whether it
// was connected. Events since the flush are replayed by dockerd (since=),
// so nothing between the flush and the stream being up is missed.
func (r *Resolver) subscribe(ctx context.Context) (connected bool) {
	r.live.Store(false)
	since := r.cfg.Clock().Add(-time.Second)
	r.cache.flush()
	opts := types.EventsOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("type", "volume"), filters.Arg("type", "network")),
	}
	// The stream lives as long as sctx; dockerd must answer within the
	// lookup timeout, or the attempt is abandoned and retried.
	var answered atomic.Bool
	sctx, cancel := context.WithCancel(streamContext(ctx, &answered))
	defer cancel()
	headers := time.AfterFunc(r.cfg.Timeout, cancel)
	msgs, errs := r.cli.Events(sctx, opts)
	err := eventsConnectError(answered.Load(), errs)
	if !headers.Stop() {
		// Whatever Events saw, the attempt was cancelled: say why.
		err = fmt.Errorf("dockerd did not answer within %v", r.cfg.Timeout)
	}
	if err != nil {
		if ctx.Err() == nil {
			r.cfg.Log.WithError(err).Warn("ownership: events subscription failed; owner lookups are not cached until it is back")
		}
		return false
	}
	// dockerd answered 200: the stream is up.
	r.live.Store(true)
	r.cfg.Log.Info("ownership: subscribed to dockerd events; owner cache on")
	defer func() {
		r.live.Store(false)
		r.cache.flush()
	}()
	for {
		select {
		case m := <-msgs:
			r.apply(m)
		case err := <-errs:
			// The client sends one error (io.EOF when dockerd ends the
			// stream) and stops; every event before it was delivered.
			if ctx.Err() == nil {
				r.cfg.Log.WithError(err).Warn("ownership: events subscription lost; owner cache off until it is back")
			}
			return true
		}
	}
}

// apply invalidates what an event may have changed.
func (r *Resolver) apply(m events.Message) {
	id, attrs := m.Actor.ID, m.Actor.Attributes
	var kinds []string
	switch m.Type {
	case events.ContainerEventType:
		switch m.Action {
		case "create", "rename", "destroy":
			kinds = []string{"container", "exec"}
		default:
			return
		}
	case events.VolumeEventType:
		if m.Action != "create" && m.Action != "destroy" {
			return
		}
		kinds = []string{"volume"}
	case events.NetworkEventType:
		if m.Action != "create" && m.Action != "destroy" {
			return
		}
		kinds = []string{"network"}
	default:
		return
	}
	n := r.cache.invalidate(kinds, id, attrs["name"], attrs["oldName"])
	r.Invalidations.Add(uint64(n))
	r.cfg.Log.WithFields(logrus.Fields{"type": m.Type, "action": m.Action, "id": id, "dropped": n}).Debug("ownership: cache invalidated by event")
}
