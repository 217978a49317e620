// Command paydrill is a chaos and load-testing harness for payment
// platforms. See README.md, or run `paydrill --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"paydrill/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.OSEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}
