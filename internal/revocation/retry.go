package revocation

import (
	"context"
	"log/slog"
	"time"
)

// Reconnection timing of both feeds: the pause after a failure doubles from
// minBackoff up to maxBackoff, and starts over once a connection was up.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// retry runs follow, one connection of a feed, again and again until ctx
// ends, pausing between tries. follow reports whether its connection was
// ever up and why it ended. The loss of a connection that was up is
// logged; a failure to connect is retried quietly, since the feed's owner
// already knows it is not connected.
func retry(ctx context.Context, log *slog.Logger, follow func() (up bool, err error)) error {
	backoff := minBackoff
	for {
		up, err := follow()
		if ctx.Err() != nil {
			return nil
		}
		if up {
			backoff = minBackoff
			log.WarnContext(ctx, "revocation feed lost", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}
