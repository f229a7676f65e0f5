package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/reservd/reservd/internal/apikey"
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
			cfg, _, err := c.config()
			if err != nil {
				return err
			}
			st, _, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				return err
			}
			key, digest := apikey.Generate()
			id, err := st.CreateAPIKey(ctx, *name, digest, *isAdmin)
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
