package kubernetes

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"paydrill/harness/topology"
	"paydrill/sim/wire"
)

// Labels on everything a run creates. The namespace carries labelRun and
// labelSystem; every object in it also carries its role, region and
// instance.
const (
	labelRun      = "paydrill.run"      // the harness's run id (Plan.RunID)
	labelSystem   = "paydrill.system"   // unique per Start: the namespace's name
	labelRole     = "paydrill.role"     // "dyno", "gateway", "toxiproxy"
	labelRegion   = "paydrill.region"   // "primary", "standby", "none"
	labelInstance = "paydrill.instance" // the instance's alias: "dyno-2"
)

// Ports inside the cluster.
const (
	componentPort = 8080
	toxiproxyPort = 8474
	toxiproxyName = "toxiproxy"
)

const (
	runAsUser int64 = 65534 // nobody
	// gracePeriod is how long a pod has to exit on SIGTERM (its stores
	// close cleanly in well under it).
	gracePeriod int64 = 3
)

// spec is one instance to run: a Deployment of one replica (zero for a
// warm standby's dyno until it is provisioned) and a Service in front.
type spec struct {
	inst  topology.Instance // Role "toxiproxy" for the relay
	args  []string          // after the entrypoint (/paydrill)
	ports []int             // the ports its Service exposes (the first is its own)
	ready string            // the readiness probe's path
	// hostPath is where its store lives on the node ("" stateless or on
	// a cluster whose nodes are not this host: an emptyDir).
	hostPath string
	store    bool
}

func (s *spec) name() string { return s.inst.Alias }

func regionLabel(region string) string {
	if region == "" {
		return "none"
	}
	return region
}

func (s *spec) labels(sys string) map[string]string {
	return map[string]string{
		labelSystem:   sys,
		labelRole:     s.inst.Role,
		labelRegion:   regionLabel(s.inst.Region),
		labelInstance: s.inst.Alias,
	}
}

// service is the spec's Service: a ClusterIP that stays the same while
// its pod is replaced, which is what every peer is wired to.
func (s *spec) service(sys string) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.name(), Labels: s.labels(sys)},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{labelInstance: s.inst.Alias},
		},
	}
	for _, p := range s.ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: "p" + strconv.Itoa(p), Port: int32(p), TargetPort: intstr.FromInt32(int32(p)), Protocol: corev1.ProtocolTCP,
		})
	}
	return svc
}

// deployment is the spec's Deployment of replicas pods from image. A
// dyno's pods follow the redundancy settings; every other pod runs in
// platformZone when it is not "".
func (s *spec) deployment(sys, image string, replicas int32, red topology.Redundancy, platformZone string) *appsv1.Deployment {
	labels := s.labels(sys)
	t := true
	f := false
	user := runAsUser
	grace := gracePeriod
	probe := &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: s.ready, Port: intstr.FromInt32(int32(s.ports[0])),
		}},
		PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1,
	}
	c := corev1.Container{
		Name:            "main",
		Image:           image,
		ImagePullPolicy: corev1.PullNever,
		Args:            s.args,
		ReadinessProbe:  probe,
		SecurityContext: &corev1.SecurityContext{
			RunAsUser: &user, RunAsGroup: &user, RunAsNonRoot: &t,
			ReadOnlyRootFilesystem: &t, AllowPrivilegeEscalation: &f,
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
	}
	for _, p := range s.ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: int32(p), Protocol: corev1.ProtocolTCP})
	}
	pod := corev1.PodSpec{
		EnableServiceLinks:            &f,
		AutomountServiceAccountToken:  &f,
		TerminationGracePeriodSeconds: &grace,
		Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: resource.NewQuantity(64<<20, resource.BinarySI)},
		}}},
	}
	strategy := appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType}
	if s.store {
		// One writer of a SQLite file at a time: the old pod is gone
		// before its replacement opens the store.
		strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		vs := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		if s.hostPath != "" {
			dirType := corev1.HostPathDirectory
			vs = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: s.hostPath, Type: &dirType}}
		}
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "data", VolumeSource: vs})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
	}
	if s.inst.Role == topology.RoleDyno {
		applyRedundancy(&pod, &c, sys, s.inst.Region, red)
	} else if platformZone != "" {
		pinToZones(&pod, platformZone)
	}
	pod.Containers = []corev1.Container{c}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: s.name(), Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{labelInstance: s.inst.Alias}},
			Strategy: strategy,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
}

// applyRedundancy realises the dynos' redundancy settings on their pods:
// zones as node affinity, spread as a topology spread constraint or pod
// anti-affinity over the region's dynos, resource limits, and probes.
func applyRedundancy(pod *corev1.PodSpec, c *corev1.Container, sys, region string, red topology.Redundancy) {
	dynos := &metav1.LabelSelector{MatchLabels: map[string]string{
		labelSystem: sys, labelRole: topology.RoleDyno, labelRegion: regionLabel(region),
	}}
	if red.Zones > 0 {
		var zones []string
		for i := 0; i < red.Zones; i++ {
			zones = append(zones, ZoneLabel(string(rune('a'+i))))
		}
		pinToZones(pod, zones...)
	}
	switch red.Spread {
	case "zone":
		pod.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: zoneKey, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: dynos,
		}}
	case "anti-affinity":
		if pod.Affinity == nil {
			pod.Affinity = &corev1.Affinity{}
		}
		pod.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{LabelSelector: dynos, TopologyKey: zoneKey}},
		}
	}
	if red.CPU != "" || red.Memory != "" {
		c.Resources.Limits = corev1.ResourceList{}
		if red.CPU != "" {
			c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse(red.CPU)
		}
		if red.Memory != "" {
			c.Resources.Limits[corev1.ResourceMemory] = resource.MustParse(red.Memory)
		}
	}
	if red.Readiness.Failures > 0 {
		c.ReadinessProbe = httpProbe(wire.PathReadyz, red.Readiness)
	}
	if red.Liveness.Failures > 0 {
		c.LivenessProbe = httpProbe(wire.PathHealthz, red.Liveness)
	}
}

// pinToZones makes the pod schedulable only on nodes of zones.
func pinToZones(pod *corev1.PodSpec, zones ...string) {
	pod.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: zoneKey, Operator: corev1.NodeSelectorOpIn, Values: zones}},
		}}},
	}}
}

// httpProbe is a probe of path every p.Period (at least the kubelet's
// one second) failing after p.Failures failures in a row.
func httpProbe(path string, p topology.Probe) *corev1.Probe {
	period := int32(p.Period.D().Seconds() + 0.5)
	if period < 1 {
		period = 1
	}
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(componentPort)}},
		PeriodSeconds: period, FailureThreshold: int32(p.Failures), TimeoutSeconds: period,
	}
}

// zoneKey is the well-known node label of a node's zone.
const zoneKey = "topology.kubernetes.io/zone"

// ZoneLabel is the zone label value of a scenario's zone letter: "b" is
// "zone-b", as paydrill's local cluster labels its nodes.
func ZoneLabel(letter string) string { return "zone-" + letter }

// namespaceName is a run's namespace: "paydrill-" and the system id,
// lowercased to a DNS label.
func namespaceName(id string) string {
	n := "paydrill-" + id
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}

// dnsLabel keeps what a DNS label allows (lowercase letters, digits,
// '-'), folding the rest to '-'.
func dnsLabel(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r-'A'+'a'))
		default:
			b = append(b, '-')
		}
	}
	out := string(b)
	for len(out) > 0 && out[0] == '-' {
		out = out[1:]
	}
	for len(out) > 0 && out[len(out)-1] == '-' {
		out = out[:len(out)-1]
	}
	return out
}

// labelValue keeps what a label value allows (63 characters of
// alphanumerics, '-', '_', '.', beginning and ending alphanumeric).
func labelValue(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b = append(b, byte(r))
		default:
			b = append(b, '-')
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return strings.Trim(string(b), "-_.")
}
