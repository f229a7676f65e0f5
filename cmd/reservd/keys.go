package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/store"
)

var keysCreateCommand = &command{
	path:    "keys create",
	usage:   "keys create --name NAME [--admin]",
	summary: "create an API key and print it once",
	about: `Create an API key and print it alone on the last line of stdout: the only time it
is shown, since only its hash is stored.`,
	setup: func(fs *flag.FlagSet) runner {
		name := fs.String("name", "", "who the key is for, a `NAME` such as a team or customer (required)")
		isAdmin := fs.Bool("admin", false, "grant admin rights (creating flights, every booking)")
		return func(ctx context.Context, c *cli, args []string) error {
			if *name == "" || len(args) > 0 {
				return usagef("usage: reservd keys create --name NAME [--admin]; run 'reservd keys create --help' for more")
			}
			st, err := c.migratedStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			key, digest := apikey.Generate()
			id, err := st.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: *name, Digest: digest, Admin: *isAdmin})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "created %s key %d for %q; it is shown only this once:\n%s\n", role(*isAdmin), id, *name, key)
			return nil
		}
	},
}

func role(admin bool) string {
	if admin {
		return "admin"
	}
	return "customer"
}

var keysListCommand = &command{
	path:    "keys list",
	summary: "list API keys: id, name, role, created, last used (never the key)",
	about: `List every API key: its id, name, role, when it was created, last used and
revoked. Keys themselves are never shown (only their hash is stored). The
last use is recorded by each replica at most once a minute, so it may lag
by that much.`,
	setup: func(fs *flag.FlagSet) runner {
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("keys list takes no arguments, got %q", args)
			}
			st, err := c.migratedStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.APIKeyList(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tLAST USED\tREVOKED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, role(k.Admin), stamp(k.CreatedAt, "-"),
					stamp(k.LastUsedAt, "never"), stamp(k.RevokedAt, "-"))
			}
			return tw.Flush()
		}
	},
}

var keysRevokeCommand = &command{
	path:    "keys revoke",
	args:    "ID",
	summary: "revoke an API key",
	about: `Revoke the API key with this id (see 'reservd keys list'). Every replica
answers 401 to it within API_KEY_CACHE_TTL, the time a replica trusts a key it
has looked up. Revoking a revoked key changes nothing.`,
	setup: func(fs *flag.FlagSet) runner {
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 {
				return usagef("usage: reservd keys revoke ID; run 'reservd keys revoke --help' for more")
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usagef("keys revoke: %q is not a key id; 'reservd keys list' shows them", args[0])
			}
			cfg, _, err := c.config()
			if err != nil {
				return err
			}
			st, err := c.migratedStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			k, err := st.APIKeyRevoke(ctx, id)
			if errors.Is(err, apikey.ErrNotFound) {
				return fmt.Errorf("keys revoke: no API key has id %d", id)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "revoked %s key %d (%q) at %s; every replica refuses it within API_KEY_CACHE_TTL (%s)\n",
				role(k.Admin), k.ID, k.Name, stamp(k.RevokedAt, "-"), cfg.APIKeyCacheTTL)
			return nil
		}
	},
}

// migratedStore opens the configured database and applies pending
// migrations, as serve would, for the commands that work on it.
func (c *cli) migratedStore(ctx context.Context) (store.Store, error) {
	cfg, _, err := c.config()
	if err != nil {
		return nil, err
	}
	st, _, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := app.Migrate(ctx, cfg, st); err != nil {
		st.Close() // #nosec G104 -- already returning the migration's error; a failed close adds nothing to it
		return nil, err
	}
	return st, nil
}

// stamp prints a time for people, to the second, in UTC; none if it is zero.
func stamp(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}
