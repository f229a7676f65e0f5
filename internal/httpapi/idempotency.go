package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/reservd/reservd/internal/idempotency"
)

// idemUse says whether a route needs an Idempotency-Key.
type idemUse int

const (
	idemNone     idemUse = iota // GETs: the header is only checked for form
	idemOptional                // honoured when sent
	idemRequired                // 400 idempotency_key_required without it
)

// idempotent adapts the request to package idempotency, which runs next at
// most once per (API key, Idempotency-Key) and decides what to answer: the
// handler's answer, a stored one, or a refusal. With inTx, next's effect is
// one store transaction that claims the key itself (see
// idempotency.Guard.Do).
func (s *Server) idempotent(use idemUse, inTx bool, w http.ResponseWriter, r *http.Request, next apiHandler) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || use == idemNone {
		if use == idemRequired {
			return idemError(idempotency.ErrKeyRequired)
		}
		return next(w, r)
	}
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	p := principal(r.Context())
	req := idempotency.Request{KeyID: p.KeyID, Secret: p.Digest, Key: key,
		Fingerprint: idempotency.Fingerprint(r.Method, r.URL.RequestURI(), body), InTx: inTx}
	var last *recorder // the answer of the handler's last run
	ans, err := s.idem.Do(r.Context(), req, func(ctx context.Context) idempotency.Ran {
		last = s.runKeyed(r.WithContext(ctx), body, next)
		return idempotency.Ran{Status: last.status, Body: last.body.Bytes(), Taken: last.taken}
	})
	if err != nil {
		return idemError(err)
	}
	if ans.Replayed {
		s.metrics.replays.Inc()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(ans.Status)
		w.Write(ans.Body) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
		return nil
	}
	last.flush(w)
	return nil
}

// runKeyed runs next for the request whose body was read and buffers its
// answer, noting whether its effect's transaction found the key claimed.
func (s *Server) runKeyed(r *http.Request, body []byte, next apiHandler) *recorder {
	rec := &recorder{header: http.Header{}}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := next(rec, r); err != nil {
		if errors.Is(err, idempotency.ErrKeyTaken) {
			rec.taken = true
			return rec
		}
		s.writeError(rec, r, err)
	}
	return rec
}

// idemError turns a refusal of package idempotency into the API's error;
// other errors pass through.
func idemError(err error) error {
	var e *idempotency.Error
	if !errors.As(err, &e) {
		return err
	}
	return &Error{Status: e.Status, Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter}
}

// completion lets a store transaction store the response of this request
// together with its effect, shown by view, or returns nil when the request
// has no key.
func completion[T, V any](r *http.Request, status int, view func(T) V) *idempotency.Completion[T] {
	return idempotency.Complete(r.Context(), status, func(v T) ([]byte, error) {
		return encodeBody(data{Data: view(v)})
	})
}

// recorder buffers a response so that it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	taken  bool // the effect's transaction found the key claimed
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
	w.Write(r.body.Bytes()) // #nosec G104 -- the status is sent; a failed write means the client went away and there is no one left to tell
}
