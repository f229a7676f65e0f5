package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/reservd/reservd/internal/store"
)

// idemLease is how long a request owns its idempotency key before another
// may take it over (its request died); longer than the server's write timeout.
const idemLease = time.Minute

// idemUse says whether a route needs an Idempotency-Key.
type idemUse int

const (
	idemNone     idemUse = iota // GETs: the header is only checked for form
	idemOptional                // honoured when sent
	idemRequired                // 400 idempotency_key_required without it
)

type idemKey struct {
	keyID int64
	key   string
	// stored is set when an effect's transaction rendered the response to
	// store with it; a success then needs no second write.
	stored *bool
}

const idemCtxKey ctxKey = 100

// idempotent runs next at most once per (API key, Idempotency-Key): a repeat
// of the same request replays the stored response; the same key on another
// request is refused; a repeat while the first runs is told to retry.
// Responses 409, 429 and 5xx are not stored. An effect that succeeds stores
// its response in its own transaction (see completion); everything else is
// stored here once the handler has answered.
func (s *Server) idempotent(use idemUse, w http.ResponseWriter, r *http.Request, next apiHandler) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || use == idemNone {
		if use == idemRequired {
			return &Error{Status: http.StatusBadRequest, Code: "idempotency_key_required", Message: "This request needs an Idempotency-Key header (1 to 255 characters)"}
		}
		return next(w, r)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	io.WriteString(sum, r.Method+" "+r.URL.RequestURI()+"\n")
	sum.Write(body)
	fingerprint := hex.EncodeToString(sum.Sum(nil))

	p := principal(r.Context())
	claim, err := s.store.ClaimIdempotencyKey(r.Context(), p.KeyID, key, fingerprint, idemLease)
	if err != nil {
		return err
	}
	switch claim.Outcome {
	case store.IdemReplay:
		s.metrics.replays.Inc()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(claim.Status)
		w.Write(claim.Body)
		return nil
	case store.IdemMismatch:
		return &Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Message: "This Idempotency-Key was used for a different request"}
	case store.IdemInFlight:
		return &Error{Status: http.StatusConflict, Code: "idempotency_key_in_use", Message: "A request with this Idempotency-Key is still running; retry shortly", RetryAfter: 1}
	}

	rec := &recorder{header: http.Header{}}
	stored := false
	ctx := context.WithValue(r.Context(), idemCtxKey, idemKey{keyID: p.KeyID, key: key, stored: &stored})
	if err := next(rec, r.WithContext(ctx)); err != nil {
		s.writeError(rec, r, err)
	}
	// Settle the key even if the client has gone away.
	settle := context.WithoutCancel(r.Context())
	if st := rec.status; st == http.StatusConflict || st == http.StatusTooManyRequests || st >= 500 {
		err = s.store.ReleaseIdempotencyKey(settle, p.KeyID, key)
	} else if !(stored && st < 300) {
		// A success whose transaction stored the response is already settled.
		err = s.store.CompleteIdempotencyKey(settle, p.KeyID, key, st, rec.body.Bytes())
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "settle idempotency key", "error", err.Error())
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
	return nil
}

// completion lets a store transaction store the response of this request
// together with its effect, or returns nil when the request has no key.
func completion(r *http.Request, status int) *store.Completion {
	k, ok := r.Context().Value(idemCtxKey).(idemKey)
	if !ok {
		return nil
	}
	return &store.Completion{KeyID: k.keyID, Key: k.key, Status: status, Render: func(v any) ([]byte, error) {
		*k.stored = true
		return encodeBody(data{Data: view(v)})
	}}
}

// recorder buffers a response so that it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
