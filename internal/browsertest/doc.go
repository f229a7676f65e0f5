// Package browsertest drives the web UI (internal/httpapi/ui) in headless
// Chromium, through chromedp, against a whole reservd service (app.New on
// an embedded database, with the built-in provider simulators) served over
// real HTTP.
//
// The tests need /usr/bin/chromium (Debian's chromium package, which
// bin/install_tools.sh installs and `make test` runs first); without it
// they fail, never skip. Each test keeps screenshots in TEST_ARTIFACTS
// (default .artifacts/ui/ at the repository's root, which git ignores).
//
// The package holds tests only: nothing outside it imports it, so chromedp
// never reaches the reservd binary (internal/deptest checks that).
package browsertest
