// Package k8s checks the Kubernetes manifests without a cluster: kustomize
// builds each overlay, every object decodes strictly into its Kubernetes API
// type, and the invariants hold that a review would check by hand.
package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

type objects struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	secrets     map[string]corev1.Secret
	configMaps  map[string]corev1.ConfigMap
	pdbs        []policyv1.PodDisruptionBudget
	policies    []networkingv1.NetworkPolicy
	namespaces  []corev1.Namespace
}

// build runs kustomize on dir and decodes every object strictly: a field
// the API does not know fails the test.
func build(t *testing.T, dir string) objects {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	o := objects{secrets: map[string]corev1.Secret{}, configMaps: map[string]corev1.ConfigMap{}}
	for _, r := range resMap.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		strict := func(v any) {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Errorf("%s %s: %v", r.GetKind(), r.GetName(), err)
			}
		}
		switch r.GetKind() {
		case "Deployment":
			var d appsv1.Deployment
			strict(&d)
			o.deployments = append(o.deployments, d)
		case "Service":
			var s corev1.Service
			strict(&s)
			o.services = append(o.services, s)
		case "Secret":
			var s corev1.Secret
			strict(&s)
			o.secrets[s.Name] = s
		case "ConfigMap":
			var c corev1.ConfigMap
			strict(&c)
			o.configMaps[c.Name] = c
		case "PodDisruptionBudget":
			var p policyv1.PodDisruptionBudget
			strict(&p)
			o.pdbs = append(o.pdbs, p)
		case "Namespace":
			var n corev1.Namespace
			strict(&n)
			o.namespaces = append(o.namespaces, n)
		case "NetworkPolicy":
			var p networkingv1.NetworkPolicy
			strict(&p)
			o.policies = append(o.policies, p)
		default:
			t.Errorf("unexpected kind %s (%s): add it to the checks", r.GetKind(), r.GetName())
		}
	}
	return o
}

func TestManifests(t *testing.T) {
	for _, dir := range []string{"base", "overlays/local"} {
		t.Run(dir, func(t *testing.T) {
			o := build(t, dir)
			if len(o.deployments) != 3 {
				t.Fatalf("%d Deployments, want issuer, inventory and orders", len(o.deployments))
			}
			for _, d := range o.deployments {
				checkDeployment(t, d, o)
			}
			if len(o.pdbs) != 1 || o.pdbs[0].Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "tollgate-issuer" {
				t.Errorf("want one PodDisruptionBudget, for the issuer: %v", o.pdbs)
			}
			checkNetworkPolicies(t, o)
			url := o.secrets["tollgate-database"].StringData["url"]
			wantMode := map[string]string{"base": "sslmode=verify-full", "overlays/local": "sslmode=disable"}[dir]
			if !strings.Contains(url, wantMode) {
				t.Errorf("database URL %q: want %s here (verify-full in base; disable only in the local overlay)", url, wantMode)
			}
			for _, n := range o.namespaces {
				if n.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
					t.Errorf("namespace %s does not enforce the restricted Pod Security profile: %v", n.Name, n.Labels)
				}
			}
			if dir == "overlays/local" && len(o.namespaces) != 1 {
				t.Errorf("the local overlay declares %d namespaces, want its own", len(o.namespaces))
			}
		})
	}
}

func checkDeployment(t *testing.T, d appsv1.Deployment, o objects) {
	t.Helper()
	name := d.Name
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("%s: fewer than 2 replicas", name)
	}
	pod := d.Spec.Template.Spec
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: the pod does not run as non-root", name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service-account token it does not need", name)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.EmptyDir != nil && (v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.IsZero()) {
			t.Errorf("%s: emptyDir %s has no sizeLimit", name, v.Name)
		}
		if v.Secret != nil {
			if _, ok := o.secrets[v.Secret.SecretName]; !ok {
				t.Errorf("%s: volume %s names Secret %s, which no manifest declares", name, v.Name, v.Secret.SecretName)
			}
		}
		if v.ConfigMap != nil {
			if _, ok := o.configMaps[v.ConfigMap.Name]; !ok {
				t.Errorf("%s: volume %s names ConfigMap %s, which no manifest declares", name, v.Name, v.ConfigMap.Name)
			}
		}
	}
	for _, c := range pod.Containers {
		where := name + "/" + c.Name
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil ||
			!*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: container security context not locked down", where)
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
			c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: needs /readyz and /healthz probes on the admin listener", where)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: no resource requests or limits", where)
		}
		ports := map[string]int32{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
		if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil {
			if _, ok := ports[c.ReadinessProbe.HTTPGet.Port.String()]; !ok {
				t.Errorf("%s: probes a port it does not name", where)
			}
		}
		for _, e := range c.Env {
			if e.Name == "TOLLGATE_DATABASE_URL" {
				t.Errorf("%s: the database URL (with its password) in the environment; mount it and use TOLLGATE_DATABASE_URL_FILE", where)
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				s, ok := o.secrets[e.ValueFrom.SecretKeyRef.Name]
				_, hasKey := s.StringData[e.ValueFrom.SecretKeyRef.Key]
				if !ok || (!hasKey && s.Data[e.ValueFrom.SecretKeyRef.Key] == nil) {
					t.Errorf("%s: env %s names a Secret key that no manifest declares", where, e.Name)
				}
			}
			if strings.HasSuffix(e.Name, "_ADDR") && e.Name != "TOLLGATE_INVENTORY_ADDR" {
				port := e.Value[strings.LastIndex(e.Value, ":")+1:]
				if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return fmt.Sprint(p.ContainerPort) == port }) {
					t.Errorf("%s: %s listens on %s, which the container does not declare", where, e.Name, port)
				}
			}
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("%s: mounts volume %s, which the pod does not declare", where, m.Name)
			}
		}
		// Only orders mounts the orders client's secret; only the issuer
		// the key-encryption key.
		for _, v := range pod.Volumes {
			if v.Secret == nil {
				continue
			}
			switch v.Secret.SecretName {
			case "tollgate-orders-client":
				if name != "tollgate-orders" {
					t.Errorf("%s mounts the orders client's secret", where)
				}
			case "tollgate-key-encryption-key":
				if name != "tollgate-issuer" {
					t.Errorf("%s mounts the key-encryption key", where)
				}
			}
		}
		checkService(t, d, c, o)
	}
}

// checkService finds the Service that selects the Deployment and checks its
// ports point at ports the container declares.
func checkService(t *testing.T, d appsv1.Deployment, c corev1.Container, o objects) {
	t.Helper()
	for _, s := range o.services {
		if s.Spec.Selector["app.kubernetes.io/name"] != d.Spec.Template.Labels["app.kubernetes.io/name"] {
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.String() == "admin" {
				t.Errorf("Service %s exposes the admin port to its callers", s.Name)
			}
			if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
				return cp.Name == p.TargetPort.String() && cp.ContainerPort == p.Port
			}) {
				t.Errorf("Service %s port %s (%d → %s) matches no container port of %s", s.Name, p.Name, p.Port, p.TargetPort.String(), d.Name)
			}
		}
		return
	}
	t.Errorf("no Service selects %s", d.Name)
}

// checkNetworkPolicies: ingress is denied by default; each Deployment has a
// policy of its own; every rule names its ports; the admin port is open
// only to the monitoring namespace, and no rule opening it opens anything
// else.
func checkNetworkPolicies(t *testing.T, o objects) {
	t.Helper()
	defaultDeny := slices.ContainsFunc(o.policies, func(p networkingv1.NetworkPolicy) bool {
		return len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 && len(p.Spec.Ingress) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
	})
	if !defaultDeny {
		t.Error("no default-deny ingress NetworkPolicy")
	}
	for _, d := range o.deployments {
		app := d.Spec.Template.Labels["app.kubernetes.io/name"]
		i := slices.IndexFunc(o.policies, func(p networkingv1.NetworkPolicy) bool {
			return p.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] == app
		})
		if i < 0 {
			t.Errorf("no NetworkPolicy selects %s", d.Name)
			continue
		}
		for _, rule := range o.policies[i].Spec.Ingress {
			if len(rule.Ports) == 0 || len(rule.From) == 0 {
				t.Errorf("%s: an ingress rule opens every port or admits every source", o.policies[i].Name)
				continue
			}
			admin := slices.ContainsFunc(rule.Ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port != nil && p.Port.String() == "admin" })
			if !admin {
				continue
			}
			if len(rule.Ports) != 1 {
				t.Errorf("%s: the rule opening the admin port opens others too", o.policies[i].Name)
			}
			for _, from := range rule.From {
				if from.PodSelector != nil || from.IPBlock != nil || from.NamespaceSelector == nil ||
					from.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
					t.Errorf("%s: the admin port is open to %v, want only the monitoring namespace", o.policies[i].Name, from)
				}
			}
		}
	}
}
