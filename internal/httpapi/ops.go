package httpapi

import (
	"context"
	_ "embed"
	"net/http"
	"time"
)

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"message": "pong"})
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz asks every dependency at once, each within a short deadline.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(s.ready))
	for _, c := range s.ready {
		go func() { results <- result{c.Name, c.Check(ctx)} }()
	}
	down := map[string]string{}
	checks := map[string]string{}
	for range s.ready {
		res := <-results
		if res.err != nil {
			down[res.name] = "unreachable"
			s.log.WarnContext(r.Context(), "readiness check failed", "dependency", res.name, "error", res.err.Error())
			continue
		}
		checks[res.name] = "ok"
	}
	if len(down) > 0 {
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "A dependency is down", Details: down}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": checks})
	return nil
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) error {
	s.promHandler.ServeHTTP(w, r)
	return nil
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDoc) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
	return nil
}
