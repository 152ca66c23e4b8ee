package devsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/services/inventory"
	"github.com/tollgate-rpc/tollgate/services/issuer"
	"github.com/tollgate-rpc/tollgate/services/orders"
)

// Info is the shape of <data-dir>/dev.json, a contract that scripts and
// tools rely on: fields may be added, never renamed.
type Info struct {
	Issuer        string            `json:"issuer"`
	TokenEndpoint string            `json:"token_endpoint"`
	JWKSURI       string            `json:"jwks_uri"`
	CAFile        string            `json:"ca_file"`
	Services      map[string]string `json:"services"`
	Clients       []Client          `json:"clients"`
	// Metrics maps each process (issuer, inventory, orders) to its admin
	// listener's address; Prometheus metrics are at /metrics there.
	Metrics map[string]string `json:"metrics"`
}

// Client is one client registered by `tollgate dev`, with its secret.
type Client struct {
	Name         string   `json:"name"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes"`
	Audiences    []string `json:"audiences"`
}

// Client returns the dev client called name.
func (d *Info) Client(name string) (Client, bool) {
	i := slices.IndexFunc(d.Clients, func(c Client) bool { return c.Name == name })
	if i < 0 {
		return Client{}, false
	}
	return d.Clients[i], true
}

// ReadInfo reads a dev.json file.
func ReadInfo(path string) (*Info, error) {
	data, err := securefile.Read(path)
	if err != nil {
		return nil, err
	}
	var d Info
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

// Names of the dev clients.
const (
	AdminClient         = "admin"
	ReaderClient        = "reader"
	OrdersServiceClient = "orders-service"
)

// devClientSpecs are the clients `tollgate dev` registers: one with every
// scope (which may also introspect tokens), one read-only, and the orders
// service's own narrow client.
var devClientSpecs = []Client{
	{Name: AdminClient, ClientID: "dev-admin",
		Scopes:    []string{"inventory.read", "inventory.reserve", "inventory.write", "orders.fulfil", "orders.read", "orders.write"},
		Audiences: []string{inventory.Audience, orders.Audience}},
	{Name: ReaderClient, ClientID: "dev-reader",
		Scopes:    []string{"inventory.read", "orders.read"},
		Audiences: []string{inventory.Audience, orders.Audience}},
	{Name: OrdersServiceClient, ClientID: "orders-service",
		Scopes:    []string{"inventory.read", "inventory.reserve"},
		Audiences: []string{inventory.Audience}},
}

// ensureDevClients registers the dev clients, keeping the secrets of a
// previous run (from the old dev.json) when they still match the registry,
// and returns them with their secrets.
func ensureDevClients(ctx context.Context, reg *issuer.Registry, previous *Info, now time.Time) ([]Client, error) {
	out := make([]Client, 0, len(devClientSpecs))
	err := reg.Update(ctx, func(clients map[string]*issuer.Client) error {
		for _, spec := range devClientSpecs {
			c := spec
			c.Scopes, c.Audiences = slices.Clone(spec.Scopes), slices.Clone(spec.Audiences)
			existing := clients[c.ClientID]
			if prev, ok := previous.Client(c.Name); ok && existing != nil && prev.ClientID == c.ClientID &&
				slices.Contains(existing.SecretHashes, issuer.HashSecret(prev.ClientSecret)) {
				c.ClientSecret = prev.ClientSecret
			} else {
				secret, err := issuer.NewSecret()
				if err != nil {
					return err
				}
				c.ClientSecret = secret
			}
			created := now.UTC()
			if existing != nil {
				created = existing.Created
			}
			clients[c.ClientID] = &issuer.Client{
				ID: c.ClientID, Name: c.Name,
				SecretHashes:  []string{issuer.HashSecret(c.ClientSecret)},
				AllowedScopes: c.Scopes, DefaultScopes: c.Scopes,
				AllowedAudiences: c.Audiences, // no default: a token names its one service
				Introspect:       c.Name == AdminClient,
				Created:          created,
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

func readPreviousInfo(path string) (*Info, error) {
	d, err := ReadInfo(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Info{}, nil
	}
	return d, err
}
