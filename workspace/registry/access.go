package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Access says how registries are reached: over https, except those named insecure, which
// may answer over plain http, as Docker's --insecure-registry. Registries on loopback are
// always insecure, as in Docker (127.0.0.0/8 and localhost).
type Access struct {
	// Insecure lists registries as HOST[:PORT], or networks as CIDR.
	Insecure []string
	// Auth, when set, is the credentials to use (the Engine API's X-Registry-Auth); otherwise
	// those docker login stored.
	Auth authn.Authenticator
}

// keychain is where credentials come from: Auth, or the Docker CLI's config.
func (a Access) keychain() authn.Keychain {
	if a.Auth != nil {
		return fixedKeychain{a.Auth}
	}
	return authn.DefaultKeychain
}

type fixedKeychain struct{ auth authn.Authenticator }

func (k fixedKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

// insecure reports whether the registry host (HOST[:PORT]) may be reached over http.
func (a Access) insecure(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	for _, entry := range a.Insecure {
		if entry == registry || entry == host {
			return true
		}
		if _, network, err := net.ParseCIDR(entry); err == nil && ip != nil && network.Contains(ip) {
			return true
		}
	}
	return false
}

// parse parses ref, marking its registry insecure when it is: go-containerregistry then tries
// https first and plain http second.
func (a Access) parse(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format %q: %w", ref, err)
	}
	if a.insecure(r.Context().RegistryStr()) {
		return name.ParseReference(ref, name.Insecure)
	}
	return r, nil
}

// transport is http's default transport, refusing plain http to a registry that is not
// insecure: go-containerregistry itself would also fall back to http for private networks
// (10/8, 172.16/12, 192.168/16), which Docker does not.
func (a Access) transport() http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.URL.Scheme == "http" && !a.insecure(req.URL.Host) {
			return nil, fmt.Errorf("%s is reached over https only (an insecure registry must be named with --insecure-registry %s)", req.URL.Host, req.URL.Host)
		}
		return http.DefaultTransport.RoundTrip(req)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// Login checks user and password against the registry (HOST[:PORT]; empty: Docker Hub), then
// stores them where docker login does, in the Docker CLI's config file ($DOCKER_CONFIG or
// ~/.docker/config.json, or its credential helper), with the Docker CLI's own code.
func (a Access) Login(server, user, password string) error {
	reg, err := a.registry(server)
	if err != nil {
		return err
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	t, err := transport.NewWithContext(context.Background(), reg, auth, a.transport(), []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return fmt.Errorf("login to %s: %w", reg, err)
	}
	// A registry with basic auth is not asked by NewWithContext: ask it.
	resp, err := (&http.Client{Transport: t}).Get(fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr()))
	if err != nil {
		return fmt.Errorf("login to %s: %w", reg, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("login to %s: unauthorized: incorrect username or password", reg)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("login to %s: the registry answered %s", reg, resp.Status)
	}
	cf, err := config.Load(config.Dir())
	if err != nil {
		return err
	}
	key := authKey(reg)
	if err := cf.GetCredentialsStore(key).Store(types.AuthConfig{Username: user, Password: password, ServerAddress: key}); err != nil {
		return fmt.Errorf("store the credentials of %s: %w", key, err)
	}
	return cf.Save()
}

// Logout forgets the credentials of the registry (empty: Docker Hub). It returns false when
// there were none.
func (a Access) Logout(server string) (bool, error) {
	reg, err := a.registry(server)
	if err != nil {
		return false, err
	}
	cf, err := config.Load(config.Dir())
	if err != nil {
		return false, err
	}
	key := authKey(reg)
	if _, ok := cf.GetAuthConfigs()[key]; !ok {
		return false, nil
	}
	if err := cf.GetCredentialsStore(key).Erase(key); err != nil {
		return false, fmt.Errorf("remove the credentials of %s: %w", key, err)
	}
	return true, cf.Save()
}

func (a Access) registry(server string) (name.Registry, error) {
	server = strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	server = strings.TrimSuffix(server, "/")
	if server == "" {
		server = name.DefaultRegistry
	}
	opts := []name.Option{}
	if a.insecure(server) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(server, opts...)
	if err != nil {
		return name.Registry{}, fmt.Errorf("invalid registry %q: %w", server, err)
	}
	return reg, nil
}

// authKey is the key the Docker CLI stores a registry's credentials under.
func authKey(reg name.Registry) string {
	if reg.RegistryStr() == name.DefaultRegistry {
		return "https://index.docker.io/v1/"
	}
	return reg.RegistryStr()
}
