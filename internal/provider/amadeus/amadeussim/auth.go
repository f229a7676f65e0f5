package amadeussim

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// token is the OAuth2 client-credentials grant.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Mandatory grant_type form parameter missing")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Only client_credentials value is allowed for the body parameter grant_type")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if id == "" || secret == "" || (s.ClientID != "" && id != s.ClientID) || (s.ClientSecret != "" && secret != s.ClientSecret) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client credentials are invalid")
		return
	}
	ttl := s.TokenTTL
	if ttl <= 0 {
		ttl = 1799 * time.Second
	}
	tok := randomToken()
	s.mu.Lock()
	s.tokens[tok] = s.now().Add(ttl)
	s.issued++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"type":             "amadeusOAuth2Token",
		"username":         "sim@reservd.invalid",
		"application_name": "reservd",
		"client_id":        id,
		"token_type":       "Bearer",
		"access_token":     tok,
		"expires_in":       int(ttl / time.Second),
		"state":            "approved",
		"scope":            "",
	})
}

func randomToken() string {
	var b [21]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// authed checks the bearer token before next.
func (s *Sim) authed(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		if !ok || tok == "" {
			s.countAuthFailure()
			// As documented: this one comes with code and status as strings.
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{
				"code": "38191", "title": "Invalid HTTP header",
				"detail": "Missing or invalid format for mandatory Authorization header", "status": "401",
			}}})
			return
		}
		s.mu.Lock()
		exp, known := s.tokens[tok]
		s.mu.Unlock()
		switch {
		case !known:
			s.countAuthFailure()
			writeErrors(w, http.StatusUnauthorized, issue{Code: 38190, Title: "Invalid access token", Detail: "The access token provided in the Authorization header is invalid"})
		case !s.now().Before(exp):
			s.countAuthFailure()
			writeErrors(w, http.StatusUnauthorized, issue{Code: 38192, Title: "Access token expired", Detail: "The access token is expired"})
		default:
			next(w, r)
		}
	})
}

func (s *Sim) countAuthFailure() {
	s.mu.Lock()
	s.authFailures++
	s.mu.Unlock()
}
