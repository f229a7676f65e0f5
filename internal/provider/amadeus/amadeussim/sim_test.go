package amadeussim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func serve(t *testing.T, s *Sim) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%d %s: %v", res.StatusCode, b, err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.amadeus+json" {
		t.Errorf("content type %q", ct)
	}
	return res.StatusCode, v
}

func tokenRequest(t *testing.T, srv *httptest.Server, form url.Values) *http.Request {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/security/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func firstIssue(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	errs, _ := v["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors envelope: %v", v)
	}
	return errs[0].(map[string]any)
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s := New()
	s.ClientID, s.ClientSecret = "key", "secret"
	srv := serve(t, s)

	status, v := do(t, srv, tokenRequest(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {"key"}, "client_secret": {"secret"}}))
	if status != 200 || v["token_type"] != "Bearer" || v["access_token"] == "" || v["expires_in"] != float64(1799) || v["state"] != "approved" {
		t.Errorf("token: %d %v", status, v)
	}
	status, v = do(t, srv, tokenRequest(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {"key"}, "client_secret": {"nope"}}))
	if status != 401 || v["error"] != "invalid_client" || v["code"] != float64(38187) {
		t.Errorf("wrong secret: %d %v", status, v)
	}
	status, v = do(t, srv, tokenRequest(t, srv, url.Values{"grant_type": {"password"}, "client_id": {"key"}, "client_secret": {"secret"}}))
	if status != 400 || v["error"] != "unsupported_grant_type" {
		t.Errorf("wrong grant: %d %v", status, v)
	}
	if n := s.TokensIssued(); n != 1 {
		t.Errorf("issued %d", n)
	}
}

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	s := New()
	srv := serve(t, s)
	get := func(auth string) (int, map[string]any) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/shopping/flight-offers?originLocationCode=CDG&destinationLocationCode=FCO&departureDate=2026-12-24&adults=1", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return do(t, srv, req)
	}
	status, v := get("")
	if is := firstIssue(t, v); status != 401 || is["code"] != "38191" || is["status"] != "401" {
		t.Errorf("no header: %d %v", status, v)
	}
	status, v = get("Bearer made-up")
	if is := firstIssue(t, v); status != 401 || is["code"] != float64(38190) {
		t.Errorf("unknown token: %d %v", status, v)
	}
	_, tv := do(t, srv, tokenRequest(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {"any"}, "client_secret": {"thing"}}))
	bearer := "Bearer " + tv["access_token"].(string)
	status, v = get(bearer)
	if data, _ := v["data"].([]any); status != 200 || len(data) < 3 {
		t.Errorf("search: %d %v", status, v)
	}
	s.ExpireTokens()
	status, v = get(bearer)
	if is := firstIssue(t, v); status != 401 || is["code"] != float64(38192) {
		t.Errorf("expired token: %d %v", status, v)
	}
	if n := s.AuthFailures(); n != 3 {
		t.Errorf("auth failures %d", n)
	}
	if st := s.Kit.Stats(); st.Searches != 1 {
		t.Errorf("searches %d", st.Searches)
	}
}

func TestUnknownPathAndBadSearch(t *testing.T) {
	t.Parallel()
	s := New()
	srv := serve(t, s)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/nothing/here", nil)
	status, v := do(t, srv, req)
	if is := firstIssue(t, v); status != 404 || is["code"] != float64(38196) {
		t.Errorf("unknown path: %d %v", status, v)
	}
	_, tv := do(t, srv, tokenRequest(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {"a"}, "client_secret": {"b"}}))
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/shopping/flight-offers?originLocationCode=CDG&departureDate=2026-12-24&adults=1", nil)
	req.Header.Set("Authorization", "Bearer "+tv["access_token"].(string))
	status, v = do(t, srv, req)
	if is := firstIssue(t, v); status != 400 || is["code"] != float64(32171) {
		t.Errorf("missing destination: %d %v", status, v)
	}
}

func TestAdminHandler(t *testing.T) {
	t.Parallel()
	s := New()
	srv := httptest.NewServer(s.AdminHandler())
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/_sim/knobs", strings.NewReader(`{"sold_out": true}`))
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !s.Kit.Knobs().SoldOut {
		t.Errorf("knobs: %d %+v", res.StatusCode, s.Kit.Knobs())
	}
}
