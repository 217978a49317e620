package cli

import (
	"fmt"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"paydrill/harness/exit"
	"paydrill/sim/service"
)

// newServeToxiproxy is `paydrill serve toxiproxy`: toxiproxy's own API
// server (the one the embedded runtime runs in-process), so the docker
// runtime's toxiproxy container runs the same paydrill image as every
// component. Proxies are created through the API; they listen in this
// process, on the addresses the API is given.
func newServeToxiproxy(env Env) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "toxiproxy",
		Short: "Toxiproxy's API server: the proxies every link of the system passes through",
		Long: `Run toxiproxy's API server (the same one paydrill embeds), without any
proxy: they are created through its HTTP API (POST /proxies), and listen in
this process. GET /version answers when the server is up.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			metrics := toxiproxy.NewMetricsContainer(prometheus.NewRegistry())
			api := toxiproxy.NewServer(metrics, zerolog.Nop())
			srv, err := service.Start(listen, api.Routes())
			if err != nil {
				return exit.CannotRun(fmt.Errorf("serve toxiproxy: %w", err))
			}
			fmt.Fprintf(env.Stderr, "paydrill serve toxiproxy: listening on %s\n", srv.URL())
			<-cmd.Context().Done()
			err = api.Collection.Clear()
			if cerr := srv.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8474", "address the API listens on (host:port; port 0 picks a free one, printed on stderr)")
	return cmd
}
