package identity

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultCacheSize is the number of verified leaf certificates a Verifier
// remembers when Config.CacheSize is zero.
const DefaultCacheSize = 4096

// MaxCertificateSize bounds one PEM entry of RequestPeerCertificates. Real
// client certificates are a few KiB at most.
const MaxCertificateSize = 64 << 10

// Error classes. Every error returned by Identify wraps exactly one of them,
// so callers can test with errors.Is; the error text is the message for the
// caller.
var (
	ErrUserWithoutCert = errors.New("user claimed without a client certificate")
	ErrNoClientCA      = errors.New("client certificate presented but no client CA is configured")
	ErrAuthMethod      = errors.New("unexpected authentication method")
	ErrMalformed       = errors.New("malformed client certificate")
	ErrExpired         = errors.New("client certificate expired")
	ErrNotYetValid     = errors.New("client certificate not yet valid")
	ErrUntrusted       = errors.New("client certificate not trusted")
	ErrUsage           = errors.New("client certificate not valid for client authentication")
	ErrBadName         = errors.New("client certificate has an unusable name")
	ErrUserMismatch    = errors.New("request user does not match the client certificate")
)

// Error is the error type returned by Identify. Its message is safe to show
// to the caller; Unwrap returns one of the Err* classes above.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

var (
	userNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)
	groupNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,127}$`)

	oidCommonName         = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOrganization       = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrganizationalUnit = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// ValidUserName reports whether name may be used as a user name: it starts
// with a letter or digit and has at most 128 characters from [A-Za-z0-9._@+-],
// so it can never be read as a policy keyword such as "group:x" or "*".
func ValidUserName(name string) bool { return userNameRE.MatchString(name) }

// ValidGroupName reports whether name (without GroupPrefix) may be used as a
// group name: like a user name, but inner spaces are allowed.
func ValidGroupName(name string) bool {
	return groupNameRE.MatchString(name) && !strings.HasSuffix(name, " ")
}

// Config configures a Verifier.
type Config struct {
	// ClientCAFile is a PEM bundle of the CA certificates whose client
	// certificates identify users (--client-ca). Empty means no CA: any
	// request that carries a certificate is refused.
	ClientCAFile string
	// ClientCAs, when not nil, is used instead of ClientCAFile (for tests and
	// embedding). Every certificate in it must be a CA.
	ClientCAs []*x509.Certificate
	// LocalUser is the user of requests without a certificate (dockerd's unix
	// socket, --local-user). Empty means Anonymous.
	LocalUser string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// CacheSize bounds the cache of verified leaves: 0 means
	// DefaultCacheSize, a negative value disables the cache.
	CacheSize int
}

// Input is what dockerd says about the caller of one request.
type Input struct {
	User       string   // AuthZReq "User": CN of the first peer certificate, or empty
	AuthMethod string   // AuthZReq "UserAuthNMethod": "TLS" or empty
	PeerCerts  [][]byte // AuthZReq "RequestPeerCertificates", each base64-decoded: PEM bytes
}

// Verifier identifies callers. Create it with NewVerifier.
type Verifier struct {
	roots     *x509.CertPool
	hasCA     bool
	localUser string
	now       func() time.Time

	cacheSize int
	mu        sync.RWMutex
	cache     map[[sha256.Size]byte]*cacheEntry
}

// cacheEntry is one successful verification. notBefore/notAfter is the
// intersection of the validity windows of every certificate in the verified
// chain; outside it the leaf is verified again from scratch.
type cacheEntry struct {
	subject   Subject
	notBefore time.Time
	notAfter  time.Time
}

// NewVerifier loads the CA bundle and checks the configuration. Its errors are
// for the operator and say what to fix.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{
		localUser: cfg.LocalUser,
		now:       cfg.Now,
		cacheSize: cfg.CacheSize,
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.cacheSize == 0 {
		v.cacheSize = DefaultCacheSize
	}
	if v.cacheSize > 0 {
		v.cache = make(map[[sha256.Size]byte]*cacheEntry)
	}
	if cfg.LocalUser != "" && !ValidUserName(cfg.LocalUser) {
		return nil, fmt.Errorf("local user %q is not a valid user name: use 1 to 128 characters from A-Z a-z 0-9 . _ @ + -, starting with a letter or digit", cfg.LocalUser)
	}

	var cas []*x509.Certificate
	switch {
	case cfg.ClientCAs != nil:
		if len(cfg.ClientCAs) == 0 {
			return nil, errors.New("client CA list is empty")
		}
		for i, c := range cfg.ClientCAs {
			if c == nil {
				return nil, fmt.Errorf("client CA %d is nil", i+1)
			}
			if err := checkCA(c); err != nil {
				return nil, fmt.Errorf("client CA %d (%s): %v", i+1, describe(c), err)
			}
		}
		cas = cfg.ClientCAs
	case cfg.ClientCAFile != "":
		var err error
		if cas, err = LoadCABundle(cfg.ClientCAFile); err != nil {
			return nil, err
		}
	}
	if len(cas) > 0 {
		v.roots = x509.NewCertPool()
		for _, c := range cas {
			v.roots.AddCert(c)
		}
		v.hasCA = true
	}
	return v, nil
}

// LoadCABundle reads a PEM file of CA certificates. Text between PEM blocks
// (as openssl writes it) is ignored; any PEM block that is not a parseable CA
// certificate is an error.
func LoadCABundle(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("client CA file %s does not exist: pass the PEM bundle of the CAs that issue client certificates", path)
		}
		return nil, fmt.Errorf("client CA file: %w", err)
	}
	var cas []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			// Never echo the block: it may be a private key.
			return nil, fmt.Errorf("client CA file %s: PEM block %d is a %q, not a CERTIFICATE: the file must hold only CA certificates", path, n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("client CA file %s: certificate %d does not parse: %v", path, n, err)
		}
		if err := checkCA(c); err != nil {
			return nil, fmt.Errorf("client CA file %s: certificate %d (%s): %v", path, n, describe(c), err)
		}
		cas = append(cas, c)
	}
	if len(cas) == 0 {
		return nil, fmt.Errorf("client CA file %s has no CERTIFICATE PEM block: it must hold the PEM-encoded CA certificates (-----BEGIN CERTIFICATE-----)", path)
	}
	return cas, nil
}

func checkCA(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return errors.New("is not a CA certificate (basic constraints CA:TRUE missing): put only the issuing CAs in the bundle, not client or server certificates")
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errors.New("is a CA without the keyCertSign key usage, so it cannot issue certificates")
	}
	return nil
}

func describe(c *x509.Certificate) string {
	return fmt.Sprintf("subject %q, serial %s", c.Subject.String(), c.SerialNumber.Text(16))
}

// HasClientCA reports whether a client CA is configured.
func (v *Verifier) HasClientCA() bool { return v.hasCA }

// Identify returns the verified Subject of one request, or an error that means
// the request must be denied.
func (v *Verifier) Identify(in Input) (Subject, error) {
	if len(in.PeerCerts) == 0 {
		if in.User != "" {
			return Subject{}, errorf(ErrUserWithoutCert, "user %s claimed without a client certificate", quote(in.User))
		}
		if in.AuthMethod != "" {
			return Subject{}, errorf(ErrAuthMethod, "authentication method %s claimed without a client certificate", quote(in.AuthMethod))
		}
		if v.localUser != "" {
			return Subject{User: v.localUser, AuthMethod: "local"}, nil
		}
		return Subject{User: Anonymous, AuthMethod: "none"}, nil
	}
	if !v.hasCA {
		return Subject{}, errorf(ErrNoClientCA, "a client certificate was presented but docker-authz has no --client-ca configured, so it cannot verify it")
	}
	if in.AuthMethod != "" && !strings.EqualFold(in.AuthMethod, "TLS") {
		return Subject{}, errorf(ErrAuthMethod, "authentication method %s does not match the client certificate (want TLS)", quote(in.AuthMethod))
	}

	leafPEM := in.PeerCerts[0]
	if len(leafPEM) > MaxCertificateSize {
		return Subject{}, errorf(ErrMalformed, "client certificate is larger than %d bytes", MaxCertificateSize)
	}
	now := v.now()
	var key [sha256.Size]byte
	var subj Subject
	hit := false
	if v.cache != nil {
		key = sha256.Sum256(leafPEM)
		v.mu.RLock()
		e := v.cache[key]
		v.mu.RUnlock()
		if e != nil && !now.Before(e.notBefore) && !now.After(e.notAfter) {
			subj, hit = e.subject, true
		}
	}
	if !hit {
		e, err := v.verify(leafPEM, now)
		if err != nil {
			return Subject{}, err
		}
		subj = e.subject
		if v.cache != nil {
			v.store(key, e)
		}
	}

	if in.User != "" && in.User != subj.User {
		return Subject{}, errorf(ErrUserMismatch, "request user %s does not match the verified client certificate CN %q", quote(in.User), subj.User)
	}
	// The cached Subject is shared: hand out a copy of the group slice.
	subj.Groups = append([]string(nil), subj.Groups...)
	return subj, nil
}

func (v *Verifier) store(key [sha256.Size]byte, e *cacheEntry) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.cache[key]; !ok && len(v.cache) >= v.cacheSize {
		// Evict an arbitrary entry (map iteration order is randomised).
		for k := range v.cache {
			delete(v.cache, k)
			break
		}
	}
	v.cache[key] = e
}

// cacheLen is for tests.
func (v *Verifier) cacheLen() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.cache)
}

// verify does the full check of one leaf PEM entry at time now.
func (v *Verifier) verify(leafPEM []byte, now time.Time) (*cacheEntry, error) {
	leaf, err := parseOneCertificate(leafPEM)
	if err != nil {
		return nil, err
	}

	// Names first: they are needed for clear messages below, and a leaf with
	// an unusable name is refused whatever else is true.
	user, groups, err := subjectNames(leaf)
	if err != nil {
		return nil, err
	}

	if now.Before(leaf.NotBefore) {
		return nil, errorf(ErrNotYetValid, "client certificate for %q is not valid before %s", user, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(leaf.NotAfter) {
		return nil, errorf(ErrExpired, "client certificate for %q expired at %s", user, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if leaf.BasicConstraintsValid && leaf.IsCA {
		return nil, errorf(ErrUsage, "client certificate for %q is a CA certificate, not a client certificate", user)
	}
	if !hasClientAuth(leaf.ExtKeyUsage) {
		return nil, errorf(ErrUsage, "client certificate for %q does not allow client authentication (extended key usage clientAuth is required)", user)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, errorf(ErrUsage, "client certificate for %q lacks the digitalSignature key usage", user)
	}

	// Roots only, no intermediates: certificates after the leaf are chosen by
	// the client and must not influence the result.
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:       v.roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, verifyError(user, err)
	}
	if len(chains) == 0 || len(chains[0]) == 0 {
		return nil, errorf(ErrUntrusted, "client certificate for %q is not signed by a CA in --client-ca", user)
	}

	e := &cacheEntry{notBefore: leaf.NotBefore, notAfter: leaf.NotAfter}
	for _, c := range chains[0] {
		if c.NotBefore.After(e.notBefore) {
			e.notBefore = c.NotBefore
		}
		if c.NotAfter.Before(e.notAfter) {
			e.notAfter = c.NotAfter
		}
	}
	sum := sha256.Sum256(leaf.Raw)
	e.subject = Subject{
		User:        user,
		Groups:      groups,
		AuthMethod:  "tls",
		Fingerprint: hex.EncodeToString(sum[:]),
		Serial:      strings.ToLower(leaf.SerialNumber.Text(16)),
		Issuer:      leaf.Issuer.CommonName,
	}
	return e, nil
}

func hasClientAuth(ekus []x509.ExtKeyUsage) bool {
	for _, u := range ekus {
		if u == x509.ExtKeyUsageClientAuth {
			return true
		}
	}
	return false
}

func verifyError(user string, err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return errorf(ErrUntrusted, "client certificate for %q is not signed by a CA in --client-ca", user)
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return errorf(ErrExpired, "client certificate for %q: its issuing CA is expired or not yet valid", user)
		case x509.IncompatibleUsage:
			return errorf(ErrUsage, "client certificate for %q: its issuing CA does not allow client authentication", user)
		default:
			return errorf(ErrUntrusted, "client certificate for %q is not trusted: %v", user, err)
		}
	default:
		return errorf(ErrUntrusted, "client certificate for %q is not trusted: %v", user, err)
	}
}

// parseOneCertificate accepts exactly one CERTIFICATE PEM block, with nothing
// but whitespace around it.
func parseOneCertificate(data []byte) (*x509.Certificate, error) {
	trimmed := bytes.TrimSpace(data)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		return nil, errorf(ErrMalformed, "client certificate is not a PEM block")
	}
	if bytes.Count(trimmed, []byte("-----BEGIN ")) != 1 {
		return nil, errorf(ErrMalformed, "client certificate entry holds more than one PEM block")
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, errorf(ErrMalformed, "client certificate is not a valid PEM block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errorf(ErrMalformed, "client certificate has trailing data after the PEM block")
	}
	if block.Type != "CERTIFICATE" {
		return nil, errorf(ErrMalformed, "client certificate PEM block is %s, not CERTIFICATE", quote(block.Type))
	}
	if len(block.Headers) != 0 {
		return nil, errorf(ErrMalformed, "client certificate PEM block has headers")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, errorf(ErrMalformed, "client certificate does not parse: %v", err)
	}
	return c, nil
}

// subjectNames takes the user (CN) and groups (O, OU) from the leaf subject.
func subjectNames(c *x509.Certificate) (string, []string, error) {
	var cns []string
	set := map[string]struct{}{}
	for _, atv := range c.Subject.Names {
		isCN := atv.Type.Equal(oidCommonName)
		isGroup := atv.Type.Equal(oidOrganization) || atv.Type.Equal(oidOrganizationalUnit)
		if !isCN && !isGroup {
			continue
		}
		s, ok := atv.Value.(string)
		if !ok {
			return "", nil, errorf(ErrBadName, "client certificate subject has a CN, O or OU value that is not a string")
		}
		if isCN {
			cns = append(cns, s)
			continue
		}
		if !ValidGroupName(s) {
			return "", nil, errorf(ErrBadName, "client certificate O/OU %s is not a valid group name: use 1 to 128 characters from A-Z a-z 0-9 space . _ @ + -, starting with a letter or digit and not ending in a space", quote(s))
		}
		set[GroupPrefix+s] = struct{}{}
	}
	switch {
	case len(cns) == 0:
		return "", nil, errorf(ErrBadName, "client certificate has no subject CommonName (CN), which names the user")
	case len(cns) > 1:
		return "", nil, errorf(ErrBadName, "client certificate subject has %d CommonNames; exactly one is required", len(cns))
	}
	user := cns[0]
	if !ValidUserName(user) {
		return "", nil, errorf(ErrBadName, "client certificate CN %s is not a valid user name: use 1 to 128 characters from A-Z a-z 0-9 . _ @ + -, starting with a letter or digit", quote(user))
	}
	if user == Anonymous {
		return "", nil, errorf(ErrBadName, "client certificate CN %q is reserved for callers without a certificate", user)
	}
	var groups []string
	if len(set) > 0 {
		groups = make([]string, 0, len(set))
		for g := range set {
			groups = append(groups, g)
		}
		sort.Strings(groups)
	}
	return user, groups, nil
}

// quote renders untrusted text for an error message: Go-quoted (so control
// characters are escaped) and cut to a sane length.
func quote(s string) string {
	const max = 140
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
