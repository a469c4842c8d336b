package main

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// opTally is what one client saw of one operation.
type opTally struct {
	latencies []time.Duration // of successful requests
	errors    map[string]int  // failed requests by outcome label
}

func (t *opTally) add(label string, d time.Duration) {
	if label == "ok" {
		t.latencies = append(t.latencies, d)
		return
	}
	if t.errors == nil {
		t.errors = map[string]int{}
	}
	t.errors[label]++
}

func (t *opTally) merge(o *opTally) {
	t.latencies = append(t.latencies, o.latencies...)
	for k, v := range o.errors {
		if t.errors == nil {
			t.errors = map[string]int{}
		}
		t.errors[k] += v
	}
}

// load is the raw outcome of one run.
type load struct {
	ops     [numOps]opTally
	elapsed time.Duration
}

// drive runs sc at concurrency n for d or until maxRequests requests were
// sent, whichever comes first: closed loop, every client sends its next
// request when the last one is answered. Requests in flight when the time
// is up are completed and counted, and the elapsed time includes them.
func drive(ctx context.Context, dr *driver, sc scenario, n int, d time.Duration,
	maxRequests int) load {
	clients := sc.clients(n)
	tallies := make([][numOps]opTally, clients)
	stop := make(chan struct{})
	var sent atomic.Int64

	start := time.Now()
	timer := time.AfterFunc(d, func() { close(stop) })
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			// A fixed seed per client keeps a scenario's sequence of
			// operations the same from one run to the next.
			rnd := rand.New(rand.NewPCG(uint64(w), 0x1a7c4))
			for {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				if sent.Add(1) > int64(maxRequests) {
					return
				}
				x := sc.pick(w, n, rnd)
				t0 := time.Now()
				label := dr.send(ctx, x, w, stop)
				if label == labelSkipped {
					return
				}
				tallies[w][x].add(label, time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	timer.Stop()

	var l load
	l.elapsed = elapsed
	for w := range tallies {
		for x := range numOps {
			l.ops[x].merge(&tallies[w][x])
		}
	}
	return l
}

// stats summarise requests of one operation or of a whole run.
type stats struct {
	Requests          int            `json:"requests"`
	OK                int            `json:"ok"`
	Errors            int            `json:"errors"`
	RequestsPerSecond float64        `json:"requestsPerSecond"`
	LatencyMs         latency        `json:"latencyMs"`
	ErrorsByStatus    map[string]int `json:"errorsByStatus"`
}

// latency holds percentiles of successful requests, in milliseconds.
type latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// summarise computes stats over t for a run that lasted elapsed.
// RequestsPerSecond counts successful requests only.
func summarise(t *opTally, elapsed time.Duration) stats {
	lat := slices.Clone(t.latencies)
	slices.Sort(lat)
	s := stats{OK: len(lat), ErrorsByStatus: map[string]int{}}
	for k, v := range t.errors {
		s.ErrorsByStatus[k] = v
		s.Errors += v
	}
	s.Requests = s.OK + s.Errors
	if elapsed > 0 {
		s.RequestsPerSecond = float64(s.OK) / elapsed.Seconds()
	}
	s.LatencyMs = latency{
		P50: ms(percentile(lat, 0.50)),
		P90: ms(percentile(lat, 0.90)),
		P99: ms(percentile(lat, 0.99)),
		Max: ms(percentile(lat, 1)),
	}
	return s
}

// percentile returns the nearest-rank p-quantile of sorted, or 0 when it is
// empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The small bias keeps 0.99×100 from rounding up to rank 100.
	rank := int(math.Ceil(p*float64(len(sorted)) - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
