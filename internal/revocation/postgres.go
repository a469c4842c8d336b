package revocation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/auth"
)

// maxPayload is the longest payload NOTIFY carries (its limit is 8000
// bytes). A revocation that does not fit is announced as flushAll.
const maxPayload = 7999

// flushAll tells every follower to forget everything it cached: sent in
// place of a revocation too long for one notification.
const flushAll = "*"

// listenTimeout bounds connecting and subscribing the listening
// connection, and each liveness ping.
const listenTimeout = 5 * time.Second

// Postgres is a revocation feed over PostgreSQL's LISTEN and NOTIFY, for
// deployments whose instances share a PostgreSQL database but no Redis. It
// implements auth.RevocationFeed.
//
// A notification is delivered to every session listening on its channel in
// the same database, once the transaction that sent it commits; the feed
// sends each one on its own, after the write it announces has committed.
type Postgres struct {
	db      *sql.DB
	listen  *pgx.ConnConfig
	channel string
	log     *slog.Logger
}

var _ auth.RevocationFeed = (*Postgres)(nil)

// NewPostgres returns a feed that publishes through db and listens on a
// connection of its own to url, the database db is connected to. Its
// channel is named after the schema db's tables live in, so that
// deployments in different schemas of one database stay apart.
func NewPostgres(ctx context.Context, db *sql.DB, url string, log *slog.Logger) (*Postgres,
	error) {
	if log == nil {
		log = slog.Default()
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can quote the URL, password included.
		return nil, errors.New("revocation: cannot parse the database URL")
	}
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("revocation: current schema: %w", err)
	}
	return &Postgres{db: db, listen: cfg, channel: Channel(schema.String), log: log}, nil
}

// Channel is the notification channel of the deployment whose tables live
// in schema: a fixed prefix and a hash of the schema, which keeps it a
// valid identifier whatever the schema is called.
func Channel(schema string) string {
	h := fnv.New64a()
	h.Write([]byte(schema))
	return fmt.Sprintf("latchkey_revocations_%016x", h.Sum64())
}

// Publish announces r to every instance listening on the channel.
func (f *Postgres) Publish(ctx context.Context, r auth.Revocation) error {
	msg, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("revocation: encode: %w", err)
	}
	payload := string(msg)
	if len(payload) > maxPayload {
		payload = flushAll
	}
	if _, err := f.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", f.channel,
		payload); err != nil {
		return fmt.Errorf("revocation: notify: %w", err)
	}
	return nil
}

// Follow delivers every revocation published on the channel to apply until
// ctx ends, reconnecting after any failure. connected(true) is called once
// the LISTEN is in place, connected(false) as soon as the connection
// breaks.
func (f *Postgres) Follow(ctx context.Context, apply func(auth.Revocation),
	connected func(bool)) error {
	return retry(ctx, f.log, func() (bool, error) { return f.follow(ctx, apply, connected) })
}

// follow runs one listening connection until it fails, and reports whether
// it was ever subscribed.
func (f *Postgres) follow(ctx context.Context, apply func(auth.Revocation),
	connected func(bool)) (up bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, listenTimeout)
	conn, err := pgx.ConnectConfig(cctx, f.listen)
	if err == nil {
		_, err = conn.Exec(cctx, "LISTEN "+pgx.Identifier{f.channel}.Sanitize())
	}
	cancel()
	if conn != nil {
		defer conn.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return false, err
	}
	connected(true)
	defer connected(false)

	for {
		// A connection that died without a word is noticed by the ping
		// after idlePing of silence.
		wctx, cancel := context.WithTimeout(ctx, idlePing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			pctx, cancel := context.WithTimeout(ctx, listenTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
			continue
		}
		if err != nil {
			return true, err
		}

		var r auth.Revocation
		if n.Payload == flushAll || json.Unmarshal([]byte(n.Payload), &r) != nil {
			// Too long to send, or in a format this version does not know:
			// whatever it named, forget everything cached.
			if n.Payload != flushAll {
				f.log.WarnContext(ctx, "revocation feed: unreadable message")
			}
			connected(false)
			connected(true)
			continue
		}
		apply(r)
	}
}
