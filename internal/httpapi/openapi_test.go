package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// openAPIOperations returns every operation of doc keyed "METHOD path".
func openAPIOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal(`openapi.json has no "paths" object`)
	}
	ops := map[string]map[string]any{}
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Errorf("paths[%q] is not an object", path)
			continue
		}
		for _, m := range openAPIMethods {
			if op, ok := item[m]; ok {
				opObj, ok := op.(map[string]any)
				if !ok {
					t.Errorf("paths[%q].%s is not an object", path, m)
					continue
				}
				ops[strings.ToUpper(m)+" "+path] = opObj
			}
		}
	}
	return ops
}

// openAPIPath turns a ServeMux pattern into an OpenAPI path template:
// "/{$}" is "/", and a "{name...}" wildcard is "{name}".
func openAPIPath(pattern string) string {
	p := strings.TrimSuffix(pattern, "{$}")
	return strings.ReplaceAll(p, "...}", "}")
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	ops := openAPIOperations(t, loadOpenAPI(t))

	routes := map[string]route{}
	for _, rt := range (&Server{}).routes() {
		key := rt.method + " " + openAPIPath(rt.pattern)
		if _, dup := routes[key]; dup {
			t.Errorf("route %s is listed twice in routes()", key)
		}
		routes[key] = rt
	}

	var missing, extra []string
	for key := range routes {
		if _, ok := ops[key]; !ok {
			missing = append(missing, key)
		}
	}
	for key := range ops {
		if _, ok := routes[key]; !ok {
			extra = append(extra, key)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, key := range missing {
		t.Errorf("route %s is not documented in openapi.json", key)
	}
	for _, key := range extra {
		t.Errorf("openapi.json documents %s, which routes() does not serve", key)
	}

	// Each operation states its own security: [] for a public route, the
	// bearer scheme for one that needs a key.
	for key, rt := range routes {
		op, ok := ops[key]
		if !ok {
			continue
		}
		sec, ok := op["security"].([]any)
		if !ok {
			t.Errorf("%s: operation has no security array", key)
			continue
		}
		needsKey := slices.ContainsFunc(sec, func(req any) bool {
			m, _ := req.(map[string]any)
			_, ok := m["bearerAuth"]
			return ok
		})
		switch {
		case rt.access == public && len(sec) != 0:
			t.Errorf("%s: public route, but its operation has security %v; want []", key, sec)
		case rt.access != public && !needsKey:
			t.Errorf("%s: route needs an API key, but its operation's security %v lacks bearerAuth", key, sec)
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)

	if v, _ := doc["openapi"].(string); v != "3.1.0" {
		t.Errorf("openapi = %q, want %q", v, "3.1.0")
	}

	// Every $ref points into #/components and resolves.
	var refs []string
	collectRefs(doc, &refs)
	if len(refs) == 0 {
		t.Error("openapi.json has no $ref at all; expected shared components")
	}
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "#/components/") {
			t.Errorf("$ref %q does not point into #/components/", ref)
			continue
		}
		if _, ok := resolvePointer(doc, strings.TrimPrefix(ref, "#")); !ok {
			t.Errorf("$ref %q does not resolve", ref)
		}
	}

	ops := openAPIOperations(t, doc)
	keys := make([]string, 0, len(ops))
	for key := range ops {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	seenIDs := map[string]string{}
	for _, key := range keys {
		op := ops[key]
		id, _ := op["operationId"].(string)
		switch prev, dup := seenIDs[id]; {
		case id == "":
			t.Errorf("%s: no operationId", key)
		case dup:
			t.Errorf("%s: operationId %q is also used by %s", key, id, prev)
		default:
			seenIDs[id] = key
		}

		responses, _ := op["responses"].(map[string]any)
		if !slices.ContainsFunc(slices.Collect(maps.Keys(responses)), isSuccessStatus) {
			t.Errorf("%s: no 2xx response", key)
		}
	}

	// Every {param} of a path template is declared as a path parameter.
	paths, _ := doc["paths"].(map[string]any)
	for path, v := range paths {
		item, _ := v.(map[string]any)
		for _, name := range pathParams.FindAllStringSubmatch(path, -1) {
			for _, m := range openAPIMethods {
				op, ok := item[m].(map[string]any)
				if !ok {
					continue
				}
				if !declaresPathParam(doc, item, name[1]) && !declaresPathParam(doc, op, name[1]) {
					t.Errorf("%s %s: path parameter %q is not declared", strings.ToUpper(m), path, name[1])
				}
			}
		}
	}
}

var pathParams = regexp.MustCompile(`\{([^}]+)\}`)

func isSuccessStatus(code string) bool {
	return len(code) == 3 && code[0] == '2' &&
		(code[1:] == "XX" || (code[1] >= '0' && code[1] <= '9' && code[2] >= '0' && code[2] <= '9'))
}

// declaresPathParam reports whether obj (a path item or operation) declares
// the path parameter name, directly or through a $ref.
func declaresPathParam(doc, obj map[string]any, name string) bool {
	params, _ := obj["parameters"].([]any)
	for _, p := range params {
		pm, _ := p.(map[string]any)
		if ref, ok := pm["$ref"].(string); ok {
			r, _ := resolvePointer(doc, strings.TrimPrefix(ref, "#"))
			pm, _ = r.(map[string]any)
		}
		if pm["in"] == "path" && pm["name"] == name && pm["required"] == true {
			return true
		}
	}
	return false
}

// collectRefs appends the value of every "$ref" key anywhere in v.
func collectRefs(v any, refs *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "$ref" {
				*refs = append(*refs, s)
				continue
			}
			collectRefs(child, refs)
		}
	case []any:
		for _, child := range v {
			collectRefs(child, refs)
		}
	}
}

// resolvePointer follows a JSON pointer (RFC 6901) such as
// "/components/schemas/Flight" through doc.
func resolvePointer(doc any, pointer string) (any, bool) {
	if pointer == "" {
		return doc, true
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// resolve follows obj's $ref, if it has one, to the object it names.
func resolve(t *testing.T, doc, obj map[string]any) map[string]any {
	t.Helper()
	for range 8 { // a chain of refs is short; a loop is a broken document
		ref, ok := obj["$ref"].(string)
		if !ok {
			return obj
		}
		v, ok := resolvePointer(doc, strings.TrimPrefix(ref, "#"))
		m, isObj := v.(map[string]any)
		if !ok || !isObj {
			t.Fatalf("$ref %q does not resolve to an object", ref)
		}
		obj = m
	}
	t.Fatalf("$ref chain too long at %v", obj["$ref"])
	return nil
}

// mediaExamples returns the examples of a media type object: its example,
// or the value of each of its examples.
func mediaExamples(doc, media map[string]any) []any {
	if v, ok := media["example"]; ok {
		return []any{v}
	}
	var out []any
	exs, _ := media["examples"].(map[string]any)
	for _, e := range exs {
		em, _ := e.(map[string]any)
		if ref, ok := em["$ref"].(string); ok {
			r, _ := resolvePointer(doc, strings.TrimPrefix(ref, "#"))
			em, _ = r.(map[string]any)
		}
		if v, ok := em["value"]; ok {
			out = append(out, v)
		}
	}
	return out
}

// TestOpenAPIExamples holds the reference to showing, for every operation,
// what to send and what comes back: every parameter, request body and
// response has an example, and every error example's code is one its
// response describes.
func TestOpenAPIExamples(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	ops := openAPIOperations(t, doc)
	paths, _ := doc["paths"].(map[string]any)
	for key, op := range ops {
		path := key[strings.IndexByte(key, ' ')+1:]
		item, _ := paths[path].(map[string]any)
		var params []any
		for _, owner := range []map[string]any{item, op} {
			p, _ := owner["parameters"].([]any)
			params = append(params, p...)
		}
		for _, p := range params {
			pm, _ := p.(map[string]any)
			pm = resolve(t, doc, pm)
			if _, ok := pm["example"]; ok {
				continue
			}
			if _, ok := pm["examples"]; ok {
				continue
			}
			t.Errorf("%s: parameter %v has no example", key, pm["name"])
		}

		if rb, ok := op["requestBody"].(map[string]any); ok {
			content, _ := resolve(t, doc, rb)["content"].(map[string]any)
			if len(content) == 0 {
				t.Errorf("%s: request body has no content", key)
			}
			for mt, v := range content {
				media, _ := v.(map[string]any)
				if len(mediaExamples(doc, media)) == 0 {
					t.Errorf("%s: request body (%s) has no example", key, mt)
				}
			}
		}

		responses, _ := op["responses"].(map[string]any)
		for code, v := range responses {
			rm, _ := v.(map[string]any)
			resp := resolve(t, doc, rm)
			content, _ := resp["content"].(map[string]any)
			if len(content) == 0 {
				t.Errorf("%s: response %s has no content", key, code)
			}
			desc, _ := resp["description"].(string)
			for mt, v := range content {
				media, _ := v.(map[string]any)
				exs := mediaExamples(doc, media)
				if len(exs) == 0 {
					t.Errorf("%s: response %s (%s) has no example", key, code, mt)
				}
				if code < "400" || mt != "application/json" {
					continue
				}
				for _, ex := range exs {
					e, _ := ex.(map[string]any)
					c, _ := e["code"].(string)
					if m, _ := e["message"].(string); c == "" || m == "" {
						t.Errorf("%s: response %s has an example without code and message: %v", key, code, ex)
						continue
					}
					if !strings.Contains(desc, "`"+c+"`") {
						t.Errorf("%s: response %s has an example with code %q, which its description does not name", key, code, c)
					}
				}
			}
		}
	}
}

// TestOpenAPIRateLimited checks that every operation behind an API key,
// which the per-key rate limit guards, documents its 429 rate_limited with
// Retry-After.
func TestOpenAPIRateLimited(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	ops := openAPIOperations(t, doc)
	for _, rt := range (&Server{}).routes() {
		if rt.access == public {
			continue
		}
		key := rt.method + " " + openAPIPath(rt.pattern)
		op, ok := ops[key]
		if !ok {
			continue // TestOpenAPIMatchesRoutes reports it
		}
		responses, _ := op["responses"].(map[string]any)
		r429, ok := responses["429"].(map[string]any)
		if !ok {
			t.Errorf("%s: no 429 response, though the route is rate limited", key)
			continue
		}
		resp := resolve(t, doc, r429)
		headers, _ := resp["headers"].(map[string]any)
		if _, ok := headers["Retry-After"]; !ok {
			t.Errorf("%s: 429 response has no Retry-After header", key)
		}
		content, _ := resp["content"].(map[string]any)
		media, _ := content["application/json"].(map[string]any)
		exs := mediaExamples(doc, media)
		if len(exs) == 0 {
			t.Errorf("%s: 429 response has no JSON example", key)
		}
		for _, ex := range exs {
			if e, _ := ex.(map[string]any); e["code"] != "rate_limited" {
				t.Errorf("%s: 429 example has code %v, want rate_limited", key, e["code"])
			}
		}
	}
}

// TestOpenAPISelfContained keeps the served document free of pointers to
// files that are not served with it.
func TestOpenAPISelfContained(t *testing.T) {
	t.Parallel()
	text := string(openAPIDoc)
	for _, bad := range []string{"spec/API.md", "shared/DESIGN.md", "/work/"} {
		if strings.Contains(text, bad) {
			t.Errorf("openapi.json mentions %q, which a reader of the served document cannot open", bad)
		}
	}
}

// TestAPIReferenceRenderer checks that the vendored bundle is the version
// redoc/README.md and redocVersion name.
func TestAPIReferenceRenderer(t *testing.T) {
	t.Parallel()
	zr, err := gzip.NewReader(bytes.NewReader(redocBundle))
	if err != nil {
		t.Fatalf("redoc bundle is not gzip: %v", err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("inflate redoc bundle: %v", err)
	}
	// The bundle shows its version on its error page: "ReDoc Version: ","2.5.4".
	if v := `" ReDoc Version: ","` + redocVersion + `"`; !bytes.Contains(js, []byte(v)) {
		t.Errorf("redoc bundle does not say it is version %s; update redocVersion with the bundle", redocVersion)
	}
	readme, err := os.ReadFile("redoc/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte("Redoc "+redocVersion)) {
		t.Errorf("redoc/README.md does not name Redoc %s", redocVersion)
	}
}

// TestOpenAPIIdempotencyCodes checks that every route taking an
// Idempotency-Key documents the answers the key itself can bring, whatever
// the handler does: a malformed key, a key reused for another request, a
// key whose first request still runs, and, where it is required, none.
func TestOpenAPIIdempotencyCodes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	ops := openAPIOperations(t, doc)
	for _, rt := range (&Server{}).routes() {
		if rt.idem == idemNone {
			continue
		}
		key := rt.method + " " + openAPIPath(rt.pattern)
		op, ok := ops[key]
		if !ok {
			continue // TestOpenAPIMatchesRoutes reports it
		}
		want := map[string]string{"400": "invalid_idempotency_key", "422": "idempotency_key_reused", "409": "idempotency_key_in_use"}
		if rt.idem == idemRequired {
			want["400"] += " idempotency_key_required"
		}
		responses, _ := op["responses"].(map[string]any)
		for status, codes := range want {
			r, _ := responses[status].(map[string]any)
			if r == nil {
				t.Errorf("%s: no %s response, though the Idempotency-Key can bring %s", key, status, codes)
				continue
			}
			desc, _ := resolve(t, doc, r)["description"].(string)
			for _, code := range strings.Fields(codes) {
				if !strings.Contains(desc, "`"+code+"`") {
					t.Errorf("%s: response %s does not describe `%s`", key, status, code)
				}
			}
		}
	}
}
