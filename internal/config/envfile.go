package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/joho/godotenv"
)

// DefaultEnvFile is the file LoadEnvFile reads when given no path.
const DefaultEnvFile = ".env"

// LoadEnvFile returns a lookup for Load that consults env first (nil means
// os.LookupEnv) and falls back to the variables in a .env file, so that a
// value exported in the real environment always wins over the file (a blank
// one does not, as it counts as unset). With an
// empty path it reads DefaultEnvFile if there is one and is content without;
// an explicit path must exist, since a mistyped name would otherwise be
// silently ignored. The process environment is never modified.
func LoadEnvFile(
	path string,
	env func(string) (string, bool),
) (func(string) (string, bool), error) {
	if env == nil {
		env = os.LookupEnv
	}
	optional := path == ""
	if optional {
		path = DefaultEnvFile
	}

	f, err := os.Open(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return env, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	defer f.Close()

	vars, err := godotenv.Parse(f)
	if err != nil {
		// The parser quotes the offending text, which may well be a secret,
		// so its message is not passed on.
		return nil, fmt.Errorf("read env file %s: malformed line (check quotes and "+
			"that each line is NAME=value)", path)
	}

	return func(name string) (string, bool) {
		// A blank variable means unset to Load, so it must not hide the
		// file's value (compose files often pass undefined variables as "").
		if v, ok := env(name); ok && strings.TrimSpace(v) != "" {
			return v, true
		}
		v, ok := vars[name]
		return v, ok
	}, nil
}
