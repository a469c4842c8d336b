// Command latchkey is the Latchkey authentication server and its
// administration commands, all reading the same configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version or VCS revision is reported.
var version = ""

type cli struct {
	Serve   serveCmd   `cmd:"" help:"Run the HTTP server."`
	Migrate migrateCmd `cmd:"" help:"Apply or inspect database migrations."`
	User    userCmd    `cmd:"" help:"Manage users."`
	Keys    keysCmd    `cmd:"" help:"Generate and list access token signing keys."`
	Cleanup cleanupCmd `cmd:"" help:"Delete expired sessions, tokens, login history and audit events."`
	Version versionCmd `cmd:"" help:"Print the version."`
	EnvFile string     `name:"env-file" help:"Variables file; default .env when present."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c,
		kong.Name("latchkey"),
		kong.Description("Latchkey: accounts, login, tokens and sessions in one binary."),
		kong.UsageOnError(),
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := kctx.Run(&globals{ctx: ctx, envFile: c.EnvFile})
	if err != nil {
		fmt.Fprintln(os.Stderr, "latchkey:", err)
		var ce *configError
		if errors.As(err, &ce) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// globals is what every subcommand receives.
type globals struct {
	ctx     context.Context
	envFile string
}

type versionCmd struct{}

func (versionCmd) Run(g *globals) error {
	fmt.Println("latchkey", buildVersion())
	return nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
