package cleanup_test

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cleanup"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestInstancesCleaningUpAtOnceDeleteEachRowOnce runs the job of several
// instances at the same moment over one database: together they delete
// every dead row exactly once, fail nowhere, and keep every live row.
func TestInstancesCleaningUpAtOnceDeleteEachRowOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clk := &clock{t: time.Date(2031, time.June, 1, 12, 0, 0, 0, time.UTC)}
		now := clk.Now()
		f := newFixture(t, s, now)
		far := now.Add(30 * day)

		const dead = 30
		var live []string
		for i := range dead {
			age := time.Duration(i+1) * time.Minute
			f.session(now.Add(-40*day), now.Add(-time.Hour), now.Add(-age), now.Add(-age))
			f.oneTime(now.Add(-age))
			f.login(now.Add(-91*day - age))
			f.event(now.Add(-366*day - age))
		}
		for range 5 {
			live = append(live, f.session(now.Add(-time.Hour), now.Add(-time.Minute), far,
				now.Add(day)).ID)
			f.oneTime(now.Add(time.Hour))
			f.login(now.Add(-day))
			f.event(now.Add(-day))
		}

		const instances = 4
		var wg sync.WaitGroup
		got := make([]store.Purged, instances)
		errs := make([]error, instances)
		start := make(chan struct{})
		for i := range instances {
			job := cleanup.New(s, retention, clk.Now,
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			wg.Go(func() {
				<-start
				got[i], errs[i] = job.Run(t.Context())
			})
		}
		close(start)
		wg.Wait()

		var total store.Purged
		for i, p := range got {
			if errs[i] != nil {
				t.Errorf("instance %d: %v", i, errs[i])
			}
			total.Sessions += p.Sessions
			total.RefreshTokens += p.RefreshTokens
			total.OneTimeTokens += p.OneTimeTokens
			total.LoginHistory += p.LoginHistory
			total.AuditEvents += p.AuditEvents
		}
		want := store.Purged{Sessions: dead, OneTimeTokens: dead, LoginHistory: dead,
			AuditEvents: dead}
		if total != want {
			t.Errorf("the instances purged %+v in all (%+v); want %+v", total, got, want)
		}
		for _, id := range live {
			if !f.sessionExists(id) {
				t.Errorf("live session %s is gone", id)
			}
		}
		if n := f.history(); n != 5 {
			t.Errorf("%d login history entries left; want the 5 recent ones", n)
		}
		if n := f.events(); n != 5 {
			t.Errorf("%d audit events left; want the 5 recent ones", n)
		}
	})
}
