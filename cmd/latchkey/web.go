package main

import (
	"log/slog"
	"net/url"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/web"
)

// newPages builds the hosted pages, or none when WEB_PAGES is off.
func newPages(cfg *config.Config, svc *auth.Service, log *slog.Logger) (httpapi.Pages, error) {
	if !cfg.WebPages {
		return nil, nil
	}
	return web.New(svc, web.Options{
		Prefix:         cfg.WebPrefix,
		Production:     cfg.Production(),
		PublicURL:      cfg.PublicURL,
		TrustedProxies: cfg.TrustedProxies,
		Secret:         cfg.RefreshSecret,
		Log:            log,
	})
}

// pagesURL is where mailed links open the hosted pages: PUBLIC_URL under
// WEB_PREFIX. Nil leaves them at PUBLIC_URL, where the pages are at the
// root or, with WEB_PAGES off, where the application serves its own.
func pagesURL(cfg *config.Config) *url.URL {
	if !cfg.WebPages || cfg.WebPrefix == "" || cfg.PublicURL == nil {
		return nil
	}
	return cfg.PublicURL.JoinPath(cfg.WebPrefix)
}
