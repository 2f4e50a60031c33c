// Command wearlink is a self-hosted wearable health-data hub.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wearlink/wearlink/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
