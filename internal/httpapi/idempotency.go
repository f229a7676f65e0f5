package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	keyID  int64
	secret string // the API key's digest (store.Completion.Secret)
	key    string
	// claim asks the effect's transaction to claim the key itself, storing
	// fingerprint with the response (store.Completion.Claim).
	claim       bool
	fingerprint string
	// stored is set when an effect's transaction rendered the response to
	// store with it; a success then needs no second write.
	stored *bool
}

const idemCtxKey ctxKey = 100

// idempotent runs next at most once per (API key, Idempotency-Key): a repeat
// of the same request replays the stored response; the same key on another
// request is refused; a repeat while the first runs is told to retry.
// Responses 403, 409, 429 and 5xx are not stored.
//
// With inTx, next's effect is one store transaction that claims the key
// itself (see completion): a success costs no idempotency round trip of its
// own. Only an answer that transaction did not store brings the key table
// in: a look at the key for an answer that is never stored, a claim for one
// that is (a 404, a validation error), or for a transaction that found the
// key taken. Otherwise the key is claimed first, as a request whose effects
// reach beyond one transaction (a payment) needs: a second request then
// finds it in flight. Either way an effect that succeeds stores its response
// in its own transaction, and everything else is stored here once the
// handler has answered.
func (s *Server) idempotent(use idemUse, inTx bool, w http.ResponseWriter, r *http.Request, next apiHandler) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || use == idemNone {
		if use == idemRequired {
			return &Error{Status: http.StatusBadRequest, Code: "idempotency_key_required", Message: "This request needs an Idempotency-Key header (1 to 255 characters)"}
		}
		return next(w, r)
	}
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	sum := sha256.New()
	io.WriteString(sum, r.Method+" "+r.URL.RequestURI()+"\n")
	sum.Write(body)
	p := principal(r.Context())
	k := idemKey{keyID: p.KeyID, secret: p.Digest, key: key, fingerprint: hex.EncodeToString(sum.Sum(nil))}

	var first *recorder // the answer of a run that did not hold the key
	if inTx {
		k.claim = true
		rec, stored, taken := s.runKeyed(r, body, k, next)
		switch {
		case stored:
			rec.flush(w)
			return nil
		case !taken && !storable(rec.status):
			// Never stored; unless the key holds an answer or a running
			// request, this answer stands.
			look, err := s.store.IdempotencyKeyGet(r.Context(), store.IdempotencyKeyGetParams{KeyID: k.keyID, Key: k.key, Fingerprint: k.fingerprint})
			if err != nil {
				return err
			}
			if look.Outcome == store.IdemProceed {
				rec.flush(w)
				return nil
			}
			return s.answerClaim(w, look)
		case !taken:
			first = rec
		}
		k.claim = false
	}

	claim, err := s.store.IdempotencyKeyClaim(r.Context(), store.IdempotencyKeyClaimParams{KeyID: k.keyID, Key: k.key, Fingerprint: k.fingerprint, Lease: idemLease})
	if err != nil {
		return err
	}
	if claim.Outcome != store.IdemProceed {
		return s.answerClaim(w, claim)
	}
	rec, stored := first, false
	if rec == nil {
		rec, stored, _ = s.runKeyed(r, body, k, next)
	}
	// Settle the key (the request runs on if its client has gone away: see
	// endpoint).
	if !storable(rec.status) {
		err = s.store.IdempotencyKeyRelease(r.Context(), k.keyID, k.key)
	} else if !(stored && rec.status < 300) {
		// A success whose transaction stored the response is already settled.
		err = s.store.IdempotencyKeyComplete(r.Context(), store.IdempotencyKeyCompleteParams{KeyID: k.keyID, Key: k.key, Status: rec.status, Body: rec.body.Bytes()})
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "settle idempotency key", "error", err.Error())
	}
	rec.flush(w)
	return nil
}

// storable says whether a response is kept for replays: 403, 409, 429 and
// 5xx are not, so that a retry runs again. (A 403 queue_token_required is
// fixed by waiting in line and sending the same request with the token.)
func storable(status int) bool {
	return status != http.StatusForbidden && status != http.StatusConflict && status != http.StatusTooManyRequests && status < 500
}

// runKeyed runs next for the request whose body was read, under k, and
// buffers its answer. stored says whether the effect's transaction stored
// it; taken, whether that transaction found the key claimed (k.claim).
func (s *Server) runKeyed(r *http.Request, body []byte, k idemKey, next apiHandler) (rec *recorder, stored, taken bool) {
	rec = &recorder{header: http.Header{}}
	k.stored = &stored
	r = r.WithContext(context.WithValue(r.Context(), idemCtxKey, k))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := next(rec, r); err != nil {
		if errors.Is(err, store.ErrIdempotencyKeyTaken) {
			return rec, false, true
		}
		s.writeError(rec, r, err)
	}
	return rec, stored && rec.status < 300, false
}

// answerClaim answers a request whose key is not its own to run.
func (s *Server) answerClaim(w http.ResponseWriter, c store.IdemClaim) error {
	switch c.Outcome {
	case store.IdemReplay:
		s.metrics.replays.Inc()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(c.Status)
		w.Write(c.Body)
		return nil
	case store.IdemMismatch:
		return &Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Message: "This Idempotency-Key was used for a different request"}
	default:
		return &Error{Status: http.StatusConflict, Code: "idempotency_key_in_use", Message: "A request with this Idempotency-Key is still running; retry shortly", RetryAfter: 1}
	}
}

// completion lets a store transaction store the response of this request
// together with its effect, or returns nil when the request has no key.
func completion(r *http.Request, status int) *store.Completion {
	k, ok := r.Context().Value(idemCtxKey).(idemKey)
	if !ok {
		return nil
	}
	return &store.Completion{KeyID: k.keyID, Key: k.key, Fingerprint: k.fingerprint, Claim: k.claim, Secret: k.secret, Status: status,
		Render: func(v any) ([]byte, error) {
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

// flush sends the buffered response.
func (r *recorder) flush(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	w.Write(r.body.Bytes())
}
