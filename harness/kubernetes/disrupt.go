package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"paydrill/harness/system"
	"paydrill/harness/topology"
)

// The Kubernetes faults.
const (
	FaultPodKill    = "pod-kill"
	FaultNodeDrain  = "node-drain"
	FaultZoneOutage = "zone-outage"
	FaultScale      = "scale"
)

// taintZoneOutage is the taint a zone-outage puts on its nodes: NoExecute
// evicts every pod there at once (no disruption budget holds a zone's
// loss back) and nothing is scheduled there until it is lifted.
const taintZoneOutage = "paydrill.io/zone-outage"

// evictionPatience is how long a drain keeps asking for an eviction the
// disruption budget refuses (a replacement elsewhere may become ready
// meanwhile, as `kubectl drain` waits) before it reports the refusal.
const evictionPatience = 10 * time.Second

// disrupt applies a Kubernetes fault (System.Disrupt).
func (r *run) disrupt(ctx context.Context, d system.Disruption) (func(context.Context) error, error) {
	switch d.Kind {
	case FaultPodKill:
		return nil, r.podKill(ctx, d.Target)
	case FaultScale:
		return r.scaleRole(ctx, d.Target, d.Replicas)
	case FaultNodeDrain:
		nodes, err := r.nodesOf(ctx, d)
		if err != nil {
			return nil, err
		}
		return r.drain(ctx, nodes)
	case FaultZoneOutage:
		nodes, err := r.zoneNodes(ctx, d.Zone)
		if err != nil {
			return nil, err
		}
		return r.zoneOutage(ctx, nodes)
	}
	return nil, fmt.Errorf("unknown Kubernetes fault %q (pod-kill, node-drain, zone-outage, scale)", d.Kind)
}

// targets are the instances a fault's target names: one instance
// ("dyno[2]", "standby.router") or every instance of a role outside the
// standby region ("dyno").
func (r *run) targets(target string) ([]*spec, error) {
	if s, ok := r.specs[target]; ok && target != toxiproxyName {
		return []*spec{s}, nil
	}
	var out []*spec
	for _, in := range r.topo.Instances {
		if in.Role == target && in.Region != topology.RegionStandby {
			out = append(out, r.specs[in.Name])
		}
	}
	if len(out) == 0 {
		var names []string
		for n := range r.specs {
			if n != toxiproxyName {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		return nil, fmt.Errorf("no instance %q (instances: %s)", target, strings.Join(names, ", "))
	}
	return out, nil
}

// podKill deletes the target's pods at once (grace 0, as a crashed
// node's); their Deployments replace them.
func (r *run) podKill(ctx context.Context, target string) error {
	specs, err := r.targets(target)
	if err != nil {
		return err
	}
	zero := int64(0)
	var errs []error
	for _, s := range specs {
		sel := labelInstance + "=" + s.inst.Alias
		if err := r.cs.CoreV1().Pods(r.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero},
			metav1.ListOptions{LabelSelector: sel}); err != nil {
			errs = append(errs, fmt.Errorf("killing %s's pod: %w", s.inst.Name, err))
		}
	}
	return errors.Join(errs...)
}

// scaleRole sets the target's replicas: for the dynos, the first n
// dynos keep their pod and the others have none (the router still sends
// to them, as to a dyno gone); for another role, its Deployment's
// replicas. The lift restores what each had.
func (r *run) scaleRole(ctx context.Context, target string, n int) (func(context.Context) error, error) {
	specs, err := r.targets(target)
	if err != nil {
		return nil, err
	}
	before := map[string]int32{}
	want := map[string]int32{}
	for i, s := range specs {
		sc, err := r.cs.AppsV1().Deployments(r.ns).GetScale(ctx, s.name(), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("scaling %s: %w", s.name(), err)
		}
		before[s.name()] = sc.Spec.Replicas
		switch {
		case len(specs) > 1 && i < n:
			want[s.name()] = 1
		case len(specs) > 1:
			want[s.name()] = 0
		case s.store && n > 1:
			return nil, fmt.Errorf("scaling %s to %d: a store is one SQLite file, written by one pod", s.inst.Name, n)
		default:
			want[s.name()] = int32(n)
		}
	}
	set := func(ctx context.Context, to map[string]int32) error {
		var errs []error
		for name, reps := range to {
			if err := r.scale(ctx, name, reps); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	if err := set(ctx, want); err != nil {
		return nil, err
	}
	r.logf("%s: %s scaled to %d", r.ns, target, n)
	return func(ctx context.Context) error { return set(ctx, before) }, nil
}

// nodesOf are the nodes a drain empties: every node of d.Zone, or the
// nodes running d.Target's pods.
func (r *run) nodesOf(ctx context.Context, d system.Disruption) ([]string, error) {
	if d.Zone != "" {
		return r.zoneNodes(ctx, d.Zone)
	}
	specs, err := r.targets(d.Target)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, s := range specs {
		pods, err := r.cs.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{LabelSelector: labelInstance + "=" + s.inst.Alias})
		if err != nil {
			return nil, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				set[p.Spec.NodeName] = true
			}
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("no node runs a pod of %s", d.Target)
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// zoneNodes are the nodes labelled with zone's letter.
func (r *run) zoneNodes(ctx context.Context, zone string) ([]string, error) {
	nodes, err := r.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: zoneKey + "=" + ZoneLabel(zone)})
	if err != nil {
		return nil, err
	}
	if len(nodes.Items) == 0 {
		return nil, fmt.Errorf("no node is in zone %s (label %s=%s)", zone, zoneKey, ZoneLabel(zone))
	}
	var out []string
	for _, n := range nodes.Items {
		out = append(out, n.Name)
	}
	sort.Strings(out)
	return out, nil
}

// cordon marks nodes (un)schedulable.
func (r *run) cordon(ctx context.Context, nodes []string, on bool) error {
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
	var errs []error
	for _, n := range nodes {
		if err := r.markNode(ctx, n, on); err != nil {
			errs = append(errs, fmt.Errorf("cordoning %s: %w", n, err))
			continue
		}
		if _, err := r.cs.CoreV1().Nodes().Patch(ctx, n, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("cordoning %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// drain cordons nodes and evicts this run's pods from them through the
// Eviction API, which a PodDisruptionBudget may refuse: a refusal still
// standing after evictionPatience is the error, naming the pod and the
// cluster's reason. The lift uncordons the nodes.
func (r *run) drain(ctx context.Context, nodes []string) (func(context.Context) error, error) {
	if err := r.cordon(ctx, nodes, true); err != nil {
		return nil, err
	}
	lift := func(ctx context.Context) error { return r.cordon(ctx, nodes, false) }
	var errs []error
	for _, n := range nodes {
		pods, err := r.cs.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + n})
		if err != nil {
			return lift, err
		}
		for _, p := range pods.Items {
			if p.Labels[labelRole] == toxiproxyName || p.DeletionTimestamp != nil {
				continue // the harness's relay is not the system's
			}
			if err := r.evict(ctx, p.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	r.logf("%s: drained %s", r.ns, strings.Join(nodes, ", "))
	return lift, errors.Join(errs...)
}

// evict asks for pod's eviction until the cluster allows it or
// evictionPatience passes.
func (r *run) evict(ctx context.Context, pod string) error {
	deadline := time.Now().Add(evictionPatience)
	for {
		err := r.cs.PolicyV1().Evictions(r.ns).Evict(ctx, &policyv1.Eviction{
			ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: r.ns},
		})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsTooManyRequests(err) || time.Now().After(deadline) {
			return fmt.Errorf("evicting %s refused: %w", pod, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("evicting %s refused: %w", pod, err)
		case <-time.After(time.Second):
		}
	}
}

// zoneOutage makes every node of a zone unavailable: cordoned and
// tainted NoExecute, so every pod there goes at once and nothing is
// scheduled there until the lift removes the taint.
func (r *run) zoneOutage(ctx context.Context, nodes []string) (func(context.Context) error, error) {
	set := func(ctx context.Context, on bool) error {
		var errs []error
		for _, n := range nodes {
			node, err := r.cs.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			var taints []corev1.Taint
			for _, t := range node.Spec.Taints {
				if t.Key != taintZoneOutage {
					taints = append(taints, t)
				}
			}
			if on {
				taints = append(taints, corev1.Taint{Key: taintZoneOutage, Value: labelValue(r.ns), Effect: corev1.TaintEffectNoExecute})
			}
			node.Spec.Taints = taints
			node.Spec.Unschedulable = on
			if on {
				if node.Annotations == nil {
					node.Annotations = map[string]string{}
				}
				node.Annotations[annotationCordoned] = r.ns
			} else {
				delete(node.Annotations, annotationCordoned)
			}
			if _, err := r.cs.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("zone outage on %s: %w", n, err))
			}
		}
		return errors.Join(errs...)
	}
	lift := func(ctx context.Context) error { return set(ctx, false) }
	if err := set(ctx, true); err != nil {
		return lift, err
	}
	r.logf("%s: zone outage on %s", r.ns, strings.Join(nodes, ", "))
	return lift, nil
}
