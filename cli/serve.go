package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"paydrill/harness/exit"
	"paydrill/sim/roles"
	"paydrill/sim/service"
)

func newServe(env Env) *cobra.Command {
	serve := &cobra.Command{
		Use:   "serve ROLE",
		Short: "Run one component of the simulated system (what each container runs)",
		Long: `Run one component of the simulated payment system on its own.
Settings come from the defaults, then --config (a JSON file, or inline JSON
starting with "{", keys as in the role's JSON config), then flags.
Every role serves GET /healthz, and stateful ones GET /admin/export (NDJSON).`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return exit.BadInput(fmt.Errorf("unknown role %q (see paydrill serve --help)", args[0]))
		},
	}
	for _, role := range serveRoles() {
		serve.AddCommand(newServeRole(env, role))
	}
	serve.AddCommand(newServeToxiproxy(env))
	return serve
}

func newServeRole(env Env, role roles.Role) *cobra.Command {
	cfg := role.New()
	var listen, config string
	cmd := &cobra.Command{
		Use:   role.Name,
		Short: role.Short,
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if config != "" {
				var err error
				if cfg, err = withJSON(role, config, cmd.Flags()); err != nil {
					return exit.BadInput(fmt.Errorf("serve %s: %w", role.Name, err))
				}
			}
			if err := cfg.Validate(); err != nil {
				return exit.BadInput(fmt.Errorf("serve %s: %w", role.Name, err))
			}
			h, err := cfg.Build()
			if err != nil {
				return exit.CannotRun(fmt.Errorf("serve %s: %w", role.Name, err))
			}
			srv, err := service.Start(listen, h)
			if err != nil {
				return exit.CannotRun(fmt.Errorf("serve %s: %w", role.Name, err))
			}
			fmt.Fprintf(env.Stderr, "paydrill serve %s: listening on %s\n", role.Name, srv.URL())
			<-cmd.Context().Done()
			return srv.Close()
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	cfg.Flags(fs)
	fs.StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on (host:port; port 0 picks a free one, printed on stderr)")
	fs.StringVar(&config, "config", "", "JSON settings: a file path, or inline JSON starting with '{'; flags given too override it")
	return cmd
}

// withJSON builds a fresh config from the role's defaults, then the JSON
// settings, then every flag given on the command line.
func withJSON(role roles.Role, config string, given *pflag.FlagSet) (roles.Config, error) {
	data := []byte(config)
	if !strings.HasPrefix(strings.TrimSpace(config), "{") {
		var err error
		if data, err = os.ReadFile(config); err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
	}
	cfg := role.New()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	fresh := pflag.NewFlagSet(role.Name, pflag.ContinueOnError)
	cfg.Flags(fresh)
	var err error
	given.Visit(func(f *pflag.Flag) {
		target := fresh.Lookup(f.Name)
		if target == nil || err != nil {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			if tv, ok := target.Value.(pflag.SliceValue); ok {
				err = tv.Replace(sv.GetSlice())
				return
			}
		}
		if serr := target.Value.Set(f.Value.String()); serr != nil {
			err = fmt.Errorf("--%s: %w", f.Name, serr)
		}
	})
	return cfg, err
}
