package audit

import (
	"time"

	"github.com/docker-authz/docker-authz/authz/request"
)

// SchemaVersion is written into every record as "v". Bump it when a field
// changes meaning; adding optional fields does not need a bump.
const SchemaVersion = 1

// Stages of a record.
const (
	StageRequest    = "request"    // the AuthZReq decision
	StageResponse   = "response"   // the AuthZRes outcome of an allowed request
	StageCheckpoint = "checkpoint" // a signed seal of the chain head, written by the Log itself
)

// Decisions.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Record is one line of the audit trail. The field order is the order on disk:
// time first, then the chain position, then who, what, the decision, and the
// chain hashes last. Seq, PrevHash and Hash are set by the Log, never by callers.
type Record struct {
	Time      time.Time `json:"time"`
	V         int       `json:"v"`
	Seq       uint64    `json:"seq"`
	ID        string    `json:"id"`                   // unique record id
	Stage     string    `json:"stage"`                // StageRequest, StageResponse or StageCheckpoint
	RequestID string    `json:"request_id,omitempty"` // on a response record: the ID of its request record
	Host      string    `json:"host,omitempty"`

	// Who.
	User        string   `json:"user"`
	Groups      []string `json:"groups,omitempty"`
	AuthMethod  string   `json:"auth_method,omitempty"`
	CertSHA256  string   `json:"cert_sha256,omitempty"`
	CertSerial  string   `json:"cert_serial,omitempty"`
	ClaimedUser string   `json:"claimed_user,omitempty"` // dockerd's User field, when it differs from User

	// What.
	Method     string            `json:"method"`
	URI        string            `json:"uri"`
	Route      string            `json:"route,omitempty"`
	APIVersion string            `json:"api_version,omitempty"`
	Object     string            `json:"object,omitempty"`
	Owner      string            `json:"owner,omitempty"`     // owner of the object (serve --ownership): its owner label, or the label of a create
	ObjectID   string            `json:"object_id,omitempty"` // full id the object reference resolved to (serve --ownership)
	Facets     []request.Facet   `json:"facets,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`     // redacted
	BodySHA256 string            `json:"body_sha256,omitempty"` // of the raw body, so a body can be matched without storing it
	BodySize   int               `json:"body_size,omitempty"`
	Level      string            `json:"level,omitempty"` // audit level applied: LevelMetadata or LevelRequest ("" = metadata, records written before levels existed)
	Body       *RedactedBody     `json:"body,omitempty"`  // at LevelRequest: the request body decoded and redacted (never raw)

	// Decision.
	Decision       string          `json:"decision"` // Allow or Deny
	Reason         string          `json:"reason,omitempty"`
	Rules          []string        `json:"rules,omitempty"`  // matched policy rules, e.g. "p, group:admins, *, *, allow"
	Denied         []request.Facet `json:"denied,omitempty"` // on a policy deny: the facets the policy refused (empty for a deny without a policy decision: caller not identified, request not understood)
	PolicyRevision string          `json:"policy_revision,omitempty"`
	Status         int             `json:"status,omitempty"` // HTTP status dockerd returned, on response records

	// Seal, on checkpoint records only (set by the Log).
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`

	// Chain.
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}
