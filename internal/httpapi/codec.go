package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody is the largest request body any route reads; each route reads at
// most its own bodyLimit, which endpoint applies first.
const maxBody = 1 << 20

// decodeJSON strictly decodes the request body into dst: exactly one JSON
// value, no unknown fields, no trailing data, at most maxBody bytes. An
// array field longer than its cap is refused before the body is decoded
// (see checkArrayCaps).
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, caps ...arrayCap) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	if err := checkArrayCaps(body, caps); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalidJSON("unexpected data after the JSON object")
	}
	return nil
}

// bodyReadError is the answer to a body that could not be read to its end:
// the client sent less than it announced, or too slowly for ReadTimeout.
// That is the client's doing: 400, logged at info, never a 500.
func bodyReadError(err error) error {
	e := invalidJSON("the body could not be read to its end")
	e.cause = err
	return e
}

func jsonError(err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		unmarshal *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return invalidJSON("the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidJSON("the body ends in the middle of a value")
	case errors.As(err, &syntax):
		return invalidJSON(fmt.Sprintf("syntax error at byte %d", syntax.Offset))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return invalidJSON("the body must be a JSON object")
		}
		return invalidJSON(fmt.Sprintf("field %q must be %s", field, jsonKind(typeErr.Type.Kind().String())))
	case errors.As(err, &unmarshal):
		return fmt.Errorf("decode: %w", err) // a bug of ours, not the client's
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalidJSON(strings.TrimPrefix(err.Error(), "json: ") + " is not accepted")
	}
	return invalidJSON(err.Error())
}

func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "slice":
		return "an array"
	case kind == "struct", kind == "map", kind == "ptr":
		return "an object"
	}
	return "a " + kind
}

// data is the success envelope.
type data struct {
	Data any `json:"data"`
}

// page is the success envelope of a list.
type page struct {
	Data       any    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// encodeBody is the one JSON encoding of response bodies, so that a stored
// idempotent response is byte for byte what was sent.
func encodeBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeBody(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"Unknown error","code":"internal"}`+"\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b) // #nosec G705 G104 -- JSON-encoded (HTML escaped) under nosniff; a failed write is the client gone
}

func writeData(w http.ResponseWriter, status int, v any) { writeJSON(w, status, data{Data: v}) }
