package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// manifests holds every object of deploy/kubernetes, decoded strictly.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

// decodeStrict decodes one YAML document into obj, failing on any field
// the Kubernetes type does not have and on a field given twice.
func decodeStrict(doc []byte, obj any) error {
	return yaml.UnmarshalStrict(doc, obj)
}

// splitDocs splits a multi-document YAML file at its `---` lines.
func splitDocs(raw []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(s, "")
}

func loadManifests(t *testing.T, dir string) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", dir)
	}
	var m manifests
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocs(raw) {
			if err := m.add(doc); err != nil {
				t.Errorf("%s, document %d: %v", f, i+1, err)
			}
		}
	}
	return m
}

func (m *manifests) add(doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 Deployment":
		d := &appsv1.Deployment{}
		m.deployments, obj = append(m.deployments, d), d
	case "v1 Service":
		s := &corev1.Service{}
		m.services, obj = append(m.services, s), s
	case "v1 ConfigMap":
		c := &corev1.ConfigMap{}
		m.configMaps, obj = append(m.configMaps, c), c
	case "policy/v1 PodDisruptionBudget":
		p := &policyv1.PodDisruptionBudget{}
		m.pdbs, obj = append(m.pdbs, p), p
	case "autoscaling/v2 HorizontalPodAutoscaler":
		h := &autoscalingv2.HorizontalPodAutoscaler{}
		m.hpas, obj = append(m.hpas, h), h
	default:
		return fmt.Errorf("apiVersion %q kind %q: not a kind this test knows (add it, so that it is checked too)", head.APIVersion, head.Kind)
	}
	return decodeStrict(doc, obj)
}

// TestStrictDecodingCatchesTypos proves the decoder refuses what kubectl
// would drop with a warning, so that the test below can fail.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelt field":   "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selektor: {a: b}}\n",
		"misplaced field":  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, path: /}]}\n",
		"duplicated field": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: b}\ndata: {C: d}\n",
		"wrong type":       "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: eighty}]}\n",
	} {
		var m manifests
		if err := m.add([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	var m manifests
	if err := m.add([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selector: {a: b}}\n")); err != nil {
		t.Errorf("a correct Service: %v", err)
	}
}

// TestKubernetesManifests decodes every manifest strictly into the
// Kubernetes API types and checks that they fit together: the Service,
// PodDisruptionBudget and HorizontalPodAutoscaler find the Deployment, the
// probes ask reservd's endpoints, the ConfigMap referenced exists, and the
// grace period outlasts the drain.
func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t, "kubernetes")
	if len(m.deployments) != 1 || len(m.services) != 1 || len(m.pdbs) != 1 || len(m.hpas) != 1 || len(m.configMaps) != 1 {
		t.Fatalf("want one each of Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler, ConfigMap; got %d %d %d %d %d",
			len(m.deployments), len(m.services), len(m.pdbs), len(m.hpas), len(m.configMaps))
	}
	d, svc, pdb, hpa, cm := m.deployments[0], m.services[0], m.pdbs[0], m.hpas[0], m.configMaps[0]
	pod := d.Spec.Template
	if !selects(d.Spec.Selector.MatchLabels, pod.Labels) {
		t.Errorf("Deployment selector %v does not select its pods %v", d.Spec.Selector.MatchLabels, pod.Labels)
	}
	if !selects(svc.Spec.Selector, pod.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pod.Labels)
	}
	if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, pod.Labels) {
		t.Errorf("PodDisruptionBudget does not select the pods %v", pod.Labels)
	}
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HorizontalPodAutoscaler scales %+v, not Deployment %s", ref, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
		t.Errorf("HorizontalPodAutoscaler minReplicas below 2: one replica cannot be restarted without an outage")
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable = %v, want 1", pdb.Spec.MaxUnavailable)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update may take replicas away before new ones are ready: %+v", ru)
	}

	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	port := containerPort(t, c, "http")
	if tp := svc.Spec.Ports[0].TargetPort; tp != intstr.FromString("http") && tp.IntValue() != int(port) {
		t.Errorf("Service targetPort %v is not the container's http port %d", tp, port)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["ADDR"] != fmt.Sprintf(":%d", port) {
		t.Errorf("ADDR=%q, but the container port is %d", env["ADDR"], port)
	}
	checkProbe(t, "readiness", c.ReadinessProbe, "/readyz")
	checkProbe(t, "liveness", c.LivenessProbe, "/healthz")
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == "/readyz" {
		t.Errorf("liveness must not ask /readyz: a database outage would restart every replica")
	}

	var configMaps, secrets []string
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef != nil {
			configMaps = append(configMaps, from.ConfigMapRef.Name)
		}
		if from.SecretRef != nil {
			secrets = append(secrets, from.SecretRef.Name)
		}
	}
	if !slices.Equal(configMaps, []string{cm.Name}) {
		t.Errorf("the container reads ConfigMaps %v, the manifests define %q", configMaps, cm.Name)
	}
	if len(secrets) != 1 {
		t.Errorf("the container reads Secrets %v, want one (database and Redis URLs)", secrets)
	}
	for k := range cm.Data {
		if strings.Contains(k, "URL") || strings.Contains(k, "SECRET") || strings.Contains(k, "TOKEN") || strings.Contains(k, "KEY") {
			t.Errorf("ConfigMap has %s: secrets belong in the Secret", k)
		}
	}

	// The pod must outlive preStop + DRAIN_DELAY + SHUTDOWN_TIMEOUT, or
	// Kubernetes kills requests still being served.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatalf("no preStop sleep: endpoints are removed asynchronously, so a pod must keep serving for a while after it starts terminating")
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	drain := duration(t, cm.Data, "DRAIN_DELAY")
	shutdown := duration(t, cm.Data, "SHUTDOWN_TIMEOUT")
	grace := time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	if preStop+drain+shutdown >= grace {
		t.Errorf("terminationGracePeriodSeconds %s <= preStop %s + DRAIN_DELAY %s + SHUTDOWN_TIMEOUT %s", grace, preStop, drain, shutdown)
	}

	sc := c.SecurityContext
	if pod.Spec.SecurityContext == nil || pod.Spec.SecurityContext.RunAsNonRoot == nil || !*pod.Spec.SecurityContext.RunAsNonRoot {
		t.Errorf("pod does not require a non-root user")
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security context is not locked down: %+v", sc)
	}
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %s", c.Name, name)
	return 0
}

func checkProbe(t *testing.T, what string, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("no %s probe over HTTP", what)
		return
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port != intstr.FromString("http") {
		t.Errorf("%s probe asks %s on port %v, want %s on the http port", what, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
	}
}

func duration(t *testing.T, data map[string]string, key string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(data[key])
	if err != nil {
		t.Fatalf("ConfigMap %s=%q: %v", key, data[key], err)
	}
	return d
}

// TestSystemdUnit checks the unit's stop timeout against its drain and
// shutdown settings, and that it runs unprivileged.
func TestSystemdUnit(t *testing.T) {
	raw, err := os.ReadFile("systemd/reservd.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line
			if !slices.Contains([]string{"[Unit]", "[Service]", "[Install]"}, section) {
				t.Errorf("line %d: unknown section %s", i+1, section)
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Errorf("line %d: not key=value in a section: %q", i+1, line)
				continue
			}
			keys[section+k] = append(keys[section+k], v)
		}
	}
	env := map[string]string{}
	for _, v := range keys["[Service]Environment"] {
		for _, kv := range strings.Fields(v) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	stop, err := time.ParseDuration(first(keys["[Service]TimeoutStopSec"]))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	drain, err1 := time.ParseDuration(env["DRAIN_DELAY"])
	shutdown, err2 := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
	if err1 != nil || err2 != nil {
		t.Fatalf("Environment= must set DRAIN_DELAY and SHUTDOWN_TIMEOUT: %v %v", err1, err2)
	}
	if drain+shutdown >= stop {
		t.Errorf("TimeoutStopSec %s <= DRAIN_DELAY %s + SHUTDOWN_TIMEOUT %s: systemd would SIGKILL requests being served", stop, drain, shutdown)
	}
	for k, want := range map[string]string{
		"[Service]KillSignal": "SIGTERM", "[Service]DynamicUser": "yes", "[Service]NoNewPrivileges": "yes",
		"[Service]ExecStart": "/usr/local/bin/reservd serve", "[Install]WantedBy": "multi-user.target",
	} {
		if got := first(keys[k]); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// TestDockerfile checks the properties the image promises: a static
// binary, a final stage without a shell, a non-root user.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if strings.EqualFold(f[0], "FROM") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], line)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	build, final := strings.Join(stages[0], "\n"), stages[len(stages)-1]
	if !strings.Contains(build, "CGO_ENABLED=0") || !strings.Contains(build, "./cmd/reservd") {
		t.Errorf("the build stage does not build ./cmd/reservd with CGO_ENABLED=0")
	}
	if !regexp.MustCompile(`^FROM (gcr\.io/distroless/static\S*|scratch)\b`).MatchString(final[0]) {
		t.Errorf("final stage %q: want distroless/static or scratch (no shell, no libc)", final[0])
	}
	var user string
	for _, l := range final {
		if f := strings.Fields(l); strings.EqualFold(f[0], "USER") {
			user = f[1]
		}
		if f := strings.Fields(l); strings.EqualFold(f[0], "RUN") {
			t.Errorf("final stage runs %q: it has no shell to run it", l)
		}
		if f := strings.Fields(l); strings.EqualFold(f[0], "ENTRYPOINT") && !strings.HasPrefix(f[1], "[") {
			t.Errorf("ENTRYPOINT in shell form needs /bin/sh: %q", l)
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("final stage USER %q: want a non-root numeric user", user)
	}
	if !bytes.Contains(raw, []byte("EXPOSE 8080")) {
		t.Errorf("the image does not expose 8080")
	}
}
