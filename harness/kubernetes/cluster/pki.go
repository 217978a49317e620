package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The cluster's PKI, made at every Up from nothing (a new cluster has a
// new CA): one CA signs the apiserver's serving certificate, every
// component's client certificate (the identity RBAC and the Node
// authorizer know it by: CN the user, O the groups) and the serving
// certificates of the controller-manager, scheduler and kubelets, so that
// every TLS connection of the cluster, and the harness's own checks,
// verify their peer. The service-account tokens are signed by a key of
// their own. ECDSA P-256 throughout: fast to generate, accepted by every
// component.

// certSpec is one certificate to issue.
type certSpec struct {
	name   string // file base name in pki/
	cn     string
	orgs   []string
	server bool // serverAuth, else clientAuth
	dns    []string
	ips    []net.IP
}

// pki is the issued material, by file name.
type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  crypto.Signer
	caPEM  []byte
	issued map[string]bool
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }
func (p *pki) cert(name string) string { return p.path(name + ".crt") }
func (p *pki) key(name string) string  { return p.path(name + ".key") }

// certValidity is how long every certificate is valid: a cluster is made
// again at each Up from nothing.
const certValidity = 365 * 24 * time.Hour

// newPKI makes the CA and the service-account key pair in dir.
func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "paydrill-local-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p := &pki{dir: dir, ca: ca, caKey: key, caPEM: pemBlock("CERTIFICATE", der), issued: map[string]bool{}}
	if err := os.WriteFile(p.cert("ca"), p.caPEM, 0o644); err != nil {
		return nil, err
	}
	if err := writeKey(p.key("ca"), key); err != nil {
		return nil, err
	}
	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeKey(p.key("sa"), sa); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(sa.Public())
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.path("sa.pub"), pemBlock("PUBLIC KEY", pub), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

// issue signs a certificate for s and writes s.name.crt and s.name.key.
func (p *pki) issue(s certSpec) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		DNSNames:     s.dns,
		IPAddresses:  s.ips,
	}
	if s.server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.cert(s.name), pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return err
	}
	if err := writeKey(p.key(s.name), key); err != nil {
		return err
	}
	p.issued[s.name] = true
	return nil
}

// certSpecs are every certificate a cluster of these nodes needs.
func certSpecs(nodes []nodeState) []certSpec {
	localhost := []net.IP{net.IPv4(127, 0, 0, 1)}
	specs := []certSpec{
		{name: "apiserver", cn: "kube-apiserver", server: true,
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips: []net.IP{net.IPv4(127, 0, 0, 1), net.ParseIP(kubernetesServiceIP)}},
		{name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}},
		{name: "admin", cn: "paydrill-admin", orgs: []string{"system:masters"}},
		{name: "controller-manager", cn: "system:kube-controller-manager"},
		{name: "scheduler", cn: "system:kube-scheduler"},
		{name: "kube-proxy", cn: "system:kube-proxy"},
		// The controller-manager's and scheduler's secure ports (their
		// /healthz), on 127.0.0.1.
		{name: "localhost-serving", cn: "localhost", server: true, dns: []string{"localhost"}, ips: localhost},
	}
	for _, n := range nodes {
		specs = append(specs,
			certSpec{name: "kubelet-" + n.Name, cn: "system:node:" + n.Name, orgs: []string{"system:nodes"}},
			certSpec{name: "kubelet-" + n.Name + "-serving", cn: "system:node:" + n.Name, orgs: []string{"system:nodes"}, server: true,
				dns: []string{n.Name, "localhost"}, ips: []net.IP{net.ParseIP(n.IP), net.IPv4(127, 0, 0, 1)}})
	}
	return specs
}

// writeKubeconfig writes a kubeconfig at path for the client certificate
// name, reaching server, with context ContextName; the certificates are
// embedded so the file stands alone.
func (p *pki) writeKubeconfig(path, server, user, name string) error {
	crt, err := os.ReadFile(p.cert(name))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.key(name))
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[ContextName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	cfg.Contexts[ContextName] = &clientcmdapi.Context{Cluster: ContextName, AuthInfo: user}
	cfg.CurrentContext = ContextName
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o600)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pemBlock("EC PRIVATE KEY", der), 0o600)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return n
}

// writeFileAtomic writes data to path through a temporary file and a rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
