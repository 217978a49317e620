package docker

import "context"

// Available says why the docker runtime cannot run on this machine
// (no daemon answers), or nil.
func Available(ctx context.Context) error {
	cli, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	return cli.Close()
}
