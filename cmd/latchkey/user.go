package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
)

type userCmd struct {
	Create userCreateCmd `cmd:"" help:"Create a user (the password may come on standard input)."`
}

type userCreateCmd struct {
	Email    string `required:"" help:"Email address."`
	Password string `help:"Password; read from standard input when omitted."`
	Username string `help:"Optional username."`
	Role     string `default:"USER" enum:"USER,ADMIN" help:"Role: USER or ADMIN."`
}

func (c *userCreateCmd) Run(g *globals) error {
	cfg, log, err := loadConfig(g)
	if err != nil {
		return err
	}
	pw := c.Password
	if pw == "" {
		if pw, err = readPassword(os.Stdin); err != nil {
			return err
		}
	}

	db, err := openDatabase(g.ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.AutoMigrate {
		if err := db.Migrate(g.ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	svc, err := newService(cfg, db, log)
	if err != nil {
		return err
	}
	u, err := svc.CreateUser(g.ctx, auth.RegisterInput{
		Email:    c.Email,
		Password: pw,
		Username: c.Username,
	}, c.Role)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			return errors.New(ae.Message)
		}
		return err
	}
	fmt.Printf("created user %s <%s> with role %s\n", u.ID, u.Email, u.Role)
	return nil
}

// readPassword reads one line from r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password given: use --password or pipe it on standard input")
	}
	return line, nil
}
