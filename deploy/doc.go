// Package deploy holds reservd's deployment files (Dockerfile, HAProxy,
// systemd, Kubernetes, Grafana, Prometheus) and the tests that keep them
// loadable: every Kubernetes manifest is decoded strictly into the
// Kubernetes API types, so that a misspelt field fails CI instead of being
// silently dropped by kubectl's defaults.
package deploy
