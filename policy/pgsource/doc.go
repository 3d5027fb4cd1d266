// Package pgsource keeps the docker-authz policy in PostgreSQL, for fleets
// of hosts that share one policy.
//
// Contract:
//   - Rules live in the table docker_authz_rule in the layout of the Casbin
//     gorm adapter (github.com/casbin/gorm-adapter/v3: ptype, v0..v5), so
//     any Casbin admin tool using that adapter can edit them. They are read
//     through that adapter into a Casbin model, then turned into
//     policy.Rules and validated exactly like policy.csv (policy.FromRules).
//     An invalid database policy is never applied: the last good one stays.
//   - docker_authz_policy_meta holds the model text and a revision counter.
//     A statement trigger on the rule table bumps the counter and sends
//     NOTIFY docker_authz_policy with the new revision, in the same
//     transaction as the change, whoever makes it (docker-authz policy
//     import, a Casbin adapter, psql).
//   - Source listens for those notifications and reloads within a second;
//     it also polls the counter (Config.PollInterval) in case a notification
//     was lost, and reconnects with backoff after an outage. During an
//     outage the last good policy stays in force.
//   - After every successful load, Source writes a local snapshot file
//     (atomic rename, fsynced). When the database cannot be reached at start,
//     Start serves the snapshot and says so; with no snapshot it refuses to
//     start. The snapshot is a policy.csv with the model and revisions in
//     comment lines; its policy revision is checked when it is read.
//   - Passwords never appear in logs, errors or Status: locations are
//     reported with Redact.
//   - The plugin only needs SELECT on both tables (and to LISTEN); schema
//     creation is done by Store.Init (docker-authz policy init/import).
package pgsource
