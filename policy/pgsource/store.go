package pgsource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/docker-authz/docker-authz/policy"
)

// Names of the database objects.
const (
	RuleTable = "docker_authz_rule"
	MetaTable = "docker_authz_policy_meta"
	Channel   = "docker_authz_policy"
)

// ruleRow is the rule table for the gorm adapter: its columns, with text
// instead of the adapter's varchar(100) (image patterns and paths can be
// longer).
type ruleRow struct {
	ID    uint   `gorm:"primaryKey;autoIncrement"`
	Ptype string `gorm:"type:text;not null;default:''"`
	V0    string `gorm:"type:text;not null;default:''"`
	V1    string `gorm:"type:text;not null;default:''"`
	V2    string `gorm:"type:text;not null;default:''"`
	V3    string `gorm:"type:text;not null;default:''"`
	V4    string `gorm:"type:text;not null;default:''"`
	V5    string `gorm:"type:text;not null;default:''"`
}

// IsURL reports whether a --policy value names a PostgreSQL database rather
// than a directory.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns the URL without its password, for logs and messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" && u.Path == "" {
		return "postgres://(unparsable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Store is a connection to the policy database. It connects lazily: Open
// succeeds while the database is down, and each call reports the outage.
type Store struct {
	url     string // with password: never logged
	loc     string // redacted
	secrets []string
	db      *gorm.DB
}

// Open prepares a Store for a postgres:// URL. The password may be in the
// URL, in PGPASSWORD or in a PGPASSFILE (better: it keeps it out of the
// process list). A connect_timeout of 5 seconds is used unless the URL sets
// one.
func Open(raw string) (*Store, error) {
	if !IsURL(raw) {
		return nil, errors.New("a database policy location starts with postgres:// or postgresql://")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid URL", Redact(raw))
	}
	s := &Store{loc: Redact(raw)}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			s.secrets = append(s.secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	q := u.Query()
	if pw := q.Get("password"); pw != "" {
		s.secrets = append(s.secrets, pw, url.QueryEscape(pw))
	}
	if !q.Has("connect_timeout") {
		q.Set("connect_timeout", "5")
		u.RawQuery = q.Encode()
	}
	s.url = u.String()
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: s.url}), &gorm.Config{
		Logger:                 logger.Discard,
		DisableAutomaticPing:   true,
		SkipDefaultTransaction: true,
	})
	if err != nil {
		return nil, s.wrap("open", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, s.wrap("open", err)
	}
	sqlDB.SetMaxOpenConns(4)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxIdleTime(time.Minute)
	s.db = db
	return s, nil
}

// String is the location without password.
func (s *Store) String() string { return s.loc }

// Close releases the connections.
func (s *Store) Close() error {
	if sqlDB, err := s.db.DB(); err == nil {
		return sqlDB.Close()
	}
	return nil
}

// scrub removes the password from an error text.
func (s *Store) scrub(msg string) string {
	for _, p := range s.secrets {
		if p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

// wrap names the database in an error and makes sure no password is in it.
func (s *Store) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var le *policy.LineError
	if errors.As(err, &le) {
		return errors.New(s.scrub(err.Error()))
	}
	return &DBError{Op: what, Loc: s.loc, Msg: s.scrub(err.Error())}
}

// DBError is a failure to talk to the database (as opposed to an invalid
// policy in it).
type DBError struct{ Op, Loc, Msg string }

func (e *DBError) Error() string { return fmt.Sprintf("%s %s: %s", e.Op, e.Loc, e.Msg) }

// Schema is the SQL that Init runs. It is idempotent.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS ` + RuleTable + ` (
	id bigserial PRIMARY KEY,
	ptype text NOT NULL DEFAULT '',
	v0 text NOT NULL DEFAULT '', v1 text NOT NULL DEFAULT '', v2 text NOT NULL DEFAULT '',
	v3 text NOT NULL DEFAULT '', v4 text NOT NULL DEFAULT '', v5 text NOT NULL DEFAULT '')`,
	`CREATE UNIQUE INDEX IF NOT EXISTS ` + RuleTable + `_rule ON ` + RuleTable + ` (ptype, v0, v1, v2, v3, v4, v5)`,
	`CREATE TABLE IF NOT EXISTS ` + MetaTable + ` (
	id smallint PRIMARY KEY CHECK (id = 1),
	revision bigint NOT NULL DEFAULT 0,
	model text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now())`,
	`CREATE OR REPLACE FUNCTION docker_authz_policy_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE rev bigint;
BEGIN
	UPDATE ` + MetaTable + ` SET revision = revision + 1, updated_at = now() WHERE id = 1 RETURNING revision INTO rev;
	PERFORM pg_notify('` + Channel + `', coalesce(rev, 0)::text);
	RETURN NULL;
END $$`,
	`DROP TRIGGER IF EXISTS docker_authz_rule_changed ON ` + RuleTable,
	`CREATE TRIGGER docker_authz_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ` + RuleTable +
		` FOR EACH STATEMENT EXECUTE FUNCTION docker_authz_policy_changed()`,
}

// Init creates the tables, the trigger and the meta row (with modelText,
// when the row does not exist yet). It is safe to run again.
func (s *Store) Init(ctx context.Context, modelText string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One initialiser at a time (CREATE OR REPLACE FUNCTION races).
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(4242424201)`).Error; err != nil {
			return err
		}
		for _, q := range schema {
			if err := tx.Exec(q).Error; err != nil {
				return err
			}
		}
		return tx.Exec(`INSERT INTO `+MetaTable+` (id, model) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, modelText).Error
	})
	return s.wrap("initialise", err)
}

// adapter returns a gorm adapter on db (a transaction or the pool), without
// the adapter's own migrations.
func adapterOn(db *gorm.DB) (*gormadapter.Adapter, error) {
	db = db.Session(&gorm.Session{})
	gormadapter.TurnOffAutoMigrate(db)
	return gormadapter.NewAdapterByDBWithCustomTable(db, &ruleRow{}, RuleTable)
}

// Adapter returns the Casbin adapter on the policy table, for admin tools
// (casbin.NewEnforcer(model, adapter) then AddPolicy/RemovePolicy). Every
// change it makes is announced to the plugins by the trigger.
func (s *Store) Adapter() (*gormadapter.Adapter, error) {
	a, err := adapterOn(s.db)
	return a, s.wrap("adapter", err)
}

// Revision reads the change counter.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	err := s.db.WithContext(ctx).Raw(`SELECT revision FROM ` + MetaTable + ` WHERE id = 1`).Row().Scan(&rev)
	return rev, s.wrap("read revision from", s.explainMissing(err))
}

// explainMissing turns "relation does not exist" and "no rows" into the
// step the operator is missing.
func (s *Store) explainMissing(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) || strings.Contains(err.Error(), "does not exist") {
		return fmt.Errorf("%v (the policy tables are missing: run `docker-authz policy import --from DIR --to %s` first)", err, s.loc)
	}
	return err
}

// Load reads the model and the rules in one consistent read (repeatable
// read, read only) through the gorm adapter, and builds the policy with the
// same validation as policy.csv. It returns the change counter the rules
// belong to.
func (s *Store) Load(ctx context.Context) (p *policy.Policy, rev int64, err error) {
	p, rev, err = s.load(ctx)
	var de *DBError
	if errors.As(err, &de) && ctx.Err() == nil {
		// A pooled connection may have died with a database restart; the
		// read is safe to repeat once on a fresh one. (On an invalid policy, rev
		// is the revision that holds it.)
		p, rev, err = s.load(ctx)
	}
	return p, rev, err
}

func (s *Store) load(ctx context.Context) (p *policy.Policy, rev int64, err error) {
	var rules []policy.Rule
	var modelText string
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := tx.Raw(`SELECT revision, model FROM ` + MetaTable + ` WHERE id = 1`).Row()
		if err := row.Scan(&rev, &modelText); err != nil {
			return s.explainMissing(err)
		}
		m, err := model.NewModelFromString(modelText)
		if err != nil {
			return &policy.LineError{File: s.loc + " (model in " + MetaTable + ")", Err: err}
		}
		a, err := adapterOn(tx)
		if err != nil {
			return s.explainMissing(err)
		}
		if err := loadSafely(ctx, a, m); err != nil {
			return s.explainMissing(err)
		}
		rules = rulesOf(m, s.loc)
		return nil
	}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, 0, s.wrap("load policy from", err)
	}
	p, err = policy.FromRules(s.loc+" (model in "+MetaTable+")", modelText, rules)
	if err != nil {
		// rev tells the caller which revision is invalid.
		return nil, rev, s.wrap("load policy from", err)
	}
	return p, rev, nil
}

// loadSafely runs the adapter's LoadPolicy; a row the adapter or Casbin
// cannot take (an empty ptype makes them panic) is an error, not a crash.
func loadSafely(ctx context.Context, a *gormadapter.Adapter, m model.Model) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("a row of %s cannot be read as a policy rule (%v); look for rows with an empty ptype", RuleTable, r)
		}
	}()
	return a.LoadPolicyCtx(ctx, m)
}

// rulesOf lists the rules the adapter loaded into m: every p-section
// assertion, then every g-section one, each in database order. A rule type
// other than p and g (a model with p2 or g2) is kept, so validation rejects
// it.
func rulesOf(m model.Model, loc string) []policy.Rule {
	var out []policy.Rule
	for _, sec := range []string{"p", "g"} {
		var keys []string
		for k := range m[sec] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, r := range m[sec][k].Policy {
				out = append(out, policy.Rule{Type: k, Fields: append([]string(nil), r...), File: loc, Line: len(out) + 1})
			}
		}
	}
	return out
}

// Replace makes the database hold exactly p's model and rules, in one
// transaction: the plugins see the old policy or the new one, never a mix.
// p must be a validated policy (policy.LoadDir). It returns the new change
// counter.
func (s *Store) Replace(ctx context.Context, p *policy.Policy) (int64, error) {
	if p == nil {
		return 0, errors.New("no policy to import")
	}
	var rev int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT revision FROM ` + MetaTable + ` WHERE id = 1 FOR UPDATE`).Error; err != nil {
			return s.explainMissing(err)
		}
		if err := tx.Exec(`UPDATE `+MetaTable+` SET model = ? WHERE id = 1`, p.Model).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM ` + RuleTable).Error; err != nil {
			return s.explainMissing(err)
		}
		a, err := adapterOn(tx)
		if err != nil {
			return err
		}
		byType := map[string][][]string{}
		var types []string
		for _, r := range p.Rules {
			if _, ok := byType[r.Type]; !ok {
				types = append(types, r.Type)
			}
			byType[r.Type] = append(byType[r.Type], r.Fields)
		}
		for _, t := range types {
			if err := a.AddPolicies(t, t, byType[t]); err != nil {
				return err
			}
		}
		return tx.Raw(`SELECT revision FROM ` + MetaTable + ` WHERE id = 1`).Row().Scan(&rev)
	})
	return rev, s.wrap("import policy into", err)
}
