// Command reservd is the seat-reservation service: `reservd serve` (the
// default), `reservd migrate`, `reservd keys create|list|revoke` and
// `reservd version`; `reservd --help` lists them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "reservd:", err)
		// 2 for a command line reservd does not understand, as flag does.
		if ue := (*usageError)(nil); errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
