package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// Checkpoint reasons.
const (
	CheckpointCount    = "count"    // Options.CheckpointEvery records since the last one
	CheckpointInterval = "interval" // Options.CheckpointInterval elapsed with unsealed records
	CheckpointRotation = "rotation" // last line of a file before it is rotated
	CheckpointShutdown = "shutdown" // written by Close
)

// Checkpoint seals the chain head: it is carried by a record of stage
// StageCheckpoint, whose own seq is Seq+1 and whose prev_hash is Head, so
// the checkpoint is itself part of the chain. Sig is the Ed25519 signature
// of CheckpointMessage; it binds every record up to Seq through the chain of
// hashes.
type Checkpoint struct {
	Seq    uint64 `json:"seq"`    // seq of the last record sealed
	Head   string `json:"head"`   // hash of that record (the chain head)
	Reason string `json:"reason"` // CheckpointCount, CheckpointInterval, CheckpointRotation or CheckpointShutdown
	KeyID  string `json:"key_id"` // KeyID of the signing key
	Sig    string `json:"sig"`    // base64 (standard, padded) Ed25519 signature
}

// CheckpointMessage is the canonical text a checkpoint signs. timeText is
// the checkpoint record's "time" exactly as written (RFC 3339, UTC, as
// encoding/json writes a time.Time), host its "host".
func CheckpointMessage(seq uint64, head, timeText, host, keyID string) []byte {
	return fmt.Appendf(nil, "docker-authz audit checkpoint v1\nseq %d\nhead %s\ntime %s\nhost %s\nkey %s\n", seq, head, timeText, host, keyID)
}

// KeyID names a public key: the first 16 hex digits of the SHA-256 of the
// raw 32-byte key.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// Signer signs checkpoints with an Ed25519 private key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner returns a Signer for key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("audit: not an Ed25519 private key")
	}
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}, nil
}

// KeyID returns the KeyID of the signer's public key.
func (s *Signer) KeyID() string { return s.id }

// checkpointRecord builds the checkpoint record sealing (seq, head).
func (s *Signer) checkpointRecord(now time.Time, host string, seq uint64, head, reason string) *Record {
	now = now.UTC()
	tb, _ := now.MarshalJSON() // a UTC time.Time in years 0..9999 always encodes
	timeText := string(tb[1 : len(tb)-1])
	sig := ed25519.Sign(s.key, CheckpointMessage(seq, head, timeText, host, s.id))
	return &Record{
		Time:  now,
		V:     SchemaVersion,
		ID:    newID(),
		Stage: StageCheckpoint,
		Host:  host,
		Checkpoint: &Checkpoint{
			Seq: seq, Head: head, Reason: reason, KeyID: s.id,
			Sig: base64.StdEncoding.EncodeToString(sig),
		},
	}
}

// VerifyCheckpoint checks a checkpoint's signature with pub.
func VerifyCheckpoint(pub ed25519.PublicKey, c *Checkpoint, timeText, host string) error {
	if c == nil {
		return errors.New("no checkpoint")
	}
	if c.KeyID != KeyID(pub) {
		return fmt.Errorf("signed with key %s, not with the given key %s", c.KeyID, KeyID(pub))
	}
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("the signature is not a base64 Ed25519 signature")
	}
	if !ed25519.Verify(pub, CheckpointMessage(c.Seq, c.Head, timeText, host, c.KeyID), sig) {
		return errors.New("the signature does not match: the checkpoint was forged or edited")
	}
	return nil
}

// GenerateKeyFiles writes a new Ed25519 key pair: the private key as PEM
// PKCS #8 to privPath (mode 0600, never overwritten) and the public key as
// PEM PKIX to pubPath (0644). It returns the key id.
func GenerateKeyFiles(privPath, pubPath string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	pk, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		return "", err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), 0o644); err != nil {
		return "", err
	}
	return KeyID(pub), nil
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("audit: %w (keys are never overwritten: remove the old file first)", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadSigningKey reads an Ed25519 private key from a PEM PKCS #8 file, as
// written by `docker-authz audit keygen` or `openssl genpkey -algorithm ed25519`.
func LoadSigningKey(path string) (*Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit signing key %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit signing key %s: no PEM \"PRIVATE KEY\" block (PKCS #8); create one with `docker-authz audit keygen`", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit signing key %s is a %T, not an Ed25519 key", path, k)
	}
	return NewSigner(priv)
}

// LoadPublicKey reads an Ed25519 public key from a PEM PKIX file ("PUBLIC
// KEY"), as written by `docker-authz audit keygen`.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit public key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("audit public key %s: no PEM \"PUBLIC KEY\" block", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit public key %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit public key %s is a %T, not an Ed25519 key", path, k)
	}
	return pub, nil
}
