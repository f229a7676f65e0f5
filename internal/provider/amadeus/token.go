package amadeus

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// token returns a valid access token. stale, when set, is a token the API
// has just refused: a new one is fetched unless another caller already
// replaced it. One fetch runs at a time; waiters honour their context.
func (c *Client) token(ctx context.Context, stale string) (string, error) {
	select {
	case c.tokens.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.tokens.sem }()
	now := c.now()
	if t := c.tokens.tok; t != "" && t != stale && now.Add(tokenBuffer).Before(c.tokens.exp) {
		return t, nil
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.id},
		"client_secret": {c.secret},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/security/oauth2/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := c.do(req)
	if err != nil {
		return "", fmt.Errorf("access token: %w", err)
	}
	if res.status != http.StatusOK {
		return "", fmt.Errorf("access token: %w", c.apiErr(res))
	}
	tk, err := parseTokenResponse(res.body)
	if err != nil {
		return "", fmt.Errorf("access token: %w", err)
	}
	c.tokens.tok, c.tokens.exp = tk.AccessToken, now.Add(tk.ExpiresIn)
	return tk.AccessToken, nil
}

// tokenBuffer: a token is renewed this long before it expires, as the
// official SDKs do.
const tokenBuffer = 10 * time.Second

// tokenCache holds the current access token. sem (one slot) serializes
// fetching and guards tok and exp.
type tokenCache struct {
	sem chan struct{}
	tok string
	exp time.Time
}
