package httpapi

import (
	"encoding/json"
	"maps"
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
