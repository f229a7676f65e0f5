package stream

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Channel is the PostgreSQL notification channel of wake-ups.
const Channel = "reservd_events"

// maxPayload is the most bytes a NOTIFY payload may carry (PostgreSQL
// refuses 8000 and more).
const maxPayload = 7999

// Payload is w as a NOTIFY payload: the flights listed when they fit, else
// All.
func Payload(w Wakeup) string {
	b, _ := json.Marshal(w) // numbers only: cannot fail
	if len(b) > maxPayload {
		b, _ = json.Marshal(Wakeup{Pos: w.Pos, All: true})
	}
	return string(b)
}

// ParsePayload reads a NOTIFY payload; one it cannot read wakes every
// reader (a wake-up costs a read, a lost one latency).
func ParsePayload(s string) Wakeup {
	var w Wakeup
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return Wakeup{All: true}
	}
	return w
}

// Execer runs a statement: a pgx pool or connection.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Notify publishes w to every replica listening on Channel, through db (a
// pool through PgBouncer works: NOTIFY needs no session).
func Notify(ctx context.Context, db Execer, w Wakeup) error {
	_, err := db.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, Payload(w))
	return err
}

// Listen wakes h at each notification on Channel, on a connection of its
// own to url (a session: LISTEN does not work through a
// transaction-pooling PgBouncer, so url is DATABASE_DIRECT_URL when set),
// until ctx ends. It reconnects with backoff when the connection fails,
// and wakes every reader after each (re)connection, for what it may have
// missed.
func Listen(ctx context.Context, url string, h *Hub) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		err := listenOnce(ctx, url, h, func() { backoff = minBackoff })
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("stream: LISTEN connection lost; reconnecting", "error", err.Error(), "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// ListenAppName is the application_name of the LISTEN connection, so that
// operators (and pg_stat_activity) can tell it from the pool's.
const ListenAppName = "reservd_listen"

// ListenConfig is the configuration of the LISTEN connection to url: the
// pool's settings in url (pool_max_conns and the other pool_* parameters
// pgxpool reads) are dropped, since a lone connection would send them to
// the server as runtime parameters, which refuses them.
func ListenConfig(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	for name := range cfg.RuntimeParams {
		if strings.HasPrefix(name, "pool_") {
			delete(cfg.RuntimeParams, name)
		}
	}
	cfg.RuntimeParams["application_name"] = ListenAppName
	return cfg, nil
}

func listenOnce(ctx context.Context, url string, h *Hub, connected func()) error {
	cfg, err := ListenConfig(url)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, readTimeout)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	connected()
	h.metrics.listening.Set(1)
	defer h.metrics.listening.Set(0)
	h.Wake(Wakeup{All: true})
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		h.Wake(ParsePayload(n.Payload))
	}
}
