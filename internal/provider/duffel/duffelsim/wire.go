package duffelsim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ---- wire helpers

type errorSource struct {
	Field   string `json:"field"`
	Pointer string `json:"pointer"`
}

func validationError(w http.ResponseWriter, code, field, message string) {
	writeError(w, http.StatusUnprocessableEntity, "validation_error", code, "Invalid value", message,
		&errorSource{Field: field[strings.LastIndex(field, "/")+1:], Pointer: "/" + field})
}

func writeError(w http.ResponseWriter, status int, typ, code, title, message string, src *errorSource) {
	reqID := "Fsim" + hashID(fmt.Sprintf("%d.%s", time.Now().UnixNano(), code), 16)
	e := map[string]any{
		"type": typ, "code": code, "title": title, "message": message,
		"documentation_url": "https://duffel.com/docs/api/overview/errors",
	}
	if src != nil {
		e["source"] = src
	}
	w.Header().Set("x-request-id", reqID)
	writeJSON(w, status, map[string]any{
		"errors": []map[string]any{e},
		"meta":   map[string]any{"status": status, "request_id": reqID},
	})
}

func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, map[string]any{"data": data})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("x-request-id") == "" {
		w.Header().Set("x-request-id", "Fsim"+hashID(strconv.FormatInt(time.Now().UnixNano(), 10), 16))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a {"data": {...}} request body, answering the error itself.
func decodeBody[T any](w http.ResponseWriter, r *http.Request, in *dataIn[T]) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "malformed_json", "Malformed JSON",
			"The request body could not be parsed as JSON: "+err.Error(), nil)
		return false
	}
	if in.Data == nil {
		validationError(w, "validation_required", "data", `The request body must be wrapped in a "data" object.`)
		return false
	}
	return true
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func isoDuration(d time.Duration) string {
	return fmt.Sprintf("PT%02dH%02dM", int(d.Hours()), int(d.Minutes())%60)
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// hashID is a deterministic base62 string of n characters derived from s.
func hashID(s string, n int) string {
	h := fnv.New64a()
	out := make([]byte, 0, n)
	for round := 0; len(out) < n; round++ {
		h.Reset()
		fmt.Fprintf(h, "%d|%s", round, s)
		v := h.Sum64()
		for range 10 {
			if len(out) == n {
				break
			}
			out = append(out, alphabet[v%62])
			v /= 62
		}
	}
	return string(out)
}

func hashDigits(s string, n int) string {
	id := hashID(s, n)
	b := []byte(id)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
