// Package deptest holds the import-direction test of the module (in the
// spirit of tailscale's deptest): which package may import which, read
// from `go list -deps -json`, so that a wrong import fails `make test`
// instead of waiting for a reviewer. The rules, lowest floor first:
//
//   - domain packages (flights, holds, bookings, trips, money, id, apikey,
//     airport, validate) import nothing of the module but each other;
//   - the store and its engines never import a service, the HTTP layer,
//     the composition root or a command;
//   - services (reserve, aggregator) never import the HTTP layer, the
//     composition root or a command;
//   - a provider adapter (a package under internal/provider that ships its
//     simulator as <name>/<name>sim) never imports another adapter;
//   - the reservd binary links no test-only package (testdb, storetest,
//     lincheck, providertest, or any other package named *test).
//
// The package has no code of its own: the rules are in deptest_test.go.
package deptest
