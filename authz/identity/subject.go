package identity

// Anonymous is the user name of callers that presented no certificate and for
// whom no --local-user is configured.
const Anonymous = "anonymous"

// GroupPrefix is prepended to every group name taken from a certificate's
// O and OU attributes, so that a group can never be confused with a user.
const GroupPrefix = "group:"

// Subject is the verified caller of one Docker API request.
// The zero Subject has no user and is never granted anything by a policy.
type Subject struct {
	User        string   `json:"user"`
	Groups      []string `json:"groups,omitempty"` // "group:<name>", sorted, unique
	AuthMethod  string   `json:"auth_method"`      // "tls", "local" or "none"
	Fingerprint string   `json:"cert_sha256,omitempty"`
	Serial      string   `json:"cert_serial,omitempty"`
	Issuer      string   `json:"cert_issuer,omitempty"`
}

// Principals lists the names the policy is asked about: the user, then each group.
func (s Subject) Principals() []string {
	if s.User == "" {
		return nil
	}
	out := make([]string, 0, 1+len(s.Groups))
	out = append(out, s.User)
	return append(out, s.Groups...)
}
