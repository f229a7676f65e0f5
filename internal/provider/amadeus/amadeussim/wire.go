package amadeussim

import (
	"encoding/json"
	"net/http"
)

// issue is one entry of Amadeus's {"errors": [...]} envelope.
type issue struct {
	Status int     `json:"status"`
	Code   int     `json:"code"`
	Title  string  `json:"title"`
	Detail string  `json:"detail,omitempty"`
	Source *source `json:"source,omitempty"`
}

type source struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Example   string `json:"example,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.amadeus+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // #nosec G104 -- a simulator's answer: a failed write means the client went away
}

func writeErrors(w http.ResponseWriter, status int, is ...issue) {
	for i := range is {
		is[i].Status = status
	}
	writeJSON(w, status, map[string]any{"errors": is})
}

// writeFault renders simkit's injected faults the way Amadeus answers them.
func writeFault(w http.ResponseWriter, status int, code, detail string) {
	switch status {
	case http.StatusTooManyRequests:
		writeErrors(w, status, issue{Code: 38194, Title: "Too many requests", Detail: "The network rate limit is exceeded, please try again later"})
	case http.StatusServiceUnavailable:
		writeErrors(w, status, issue{Code: 141, Title: "SYSTEM ERROR HAS OCCURRED", Detail: detail})
	default:
		writeErrors(w, status, issue{Code: 38189, Title: "Internal error", Detail: "An internal error occured, please contact your administrator"})
	}
}

func writeOAuthError(w http.ResponseWriter, status int, errName, desc string) {
	writeJSON(w, status, map[string]any{"error": errName, "error_description": desc, "code": 38187, "title": "Invalid parameters"})
}
