package main

import (
	"math/rand/v2"
)

// op is one kind of request.
type op int

const (
	opHealthz op = iota
	opProfile
	opRefresh
	opLogin
	opRegister
	numOps
)

var opNames = [numOps]string{"healthz", "profile", "refresh", "login", "register"}

func (o op) String() string { return opNames[o] }

// hashed reports whether the server computes a password hash for o.
func (o op) hashed() bool { return o == opLogin || o == opRegister }

// mixable are the operations the mixed scenario may weigh.
var mixable = map[string]op{
	"healthz": opHealthz,
	"profile": opProfile,
	"refresh": opRefresh,
	"login":   opLogin,
}

// weighted is an operation and its share of the mixed scenario.
type weighted struct {
	op     op
	weight int
}

// scenarioNames lists every scenario; defaultScenarios those run when none
// is named. The flood is opt-in: it needs a run of profile at the same
// concurrency to be read against.
var (
	scenarioNames    = []string{"healthz", "profile", "refresh", "login", "register", "mixed", "flood"}
	defaultScenarios = scenarioNames[:6]
	scenarios        = func() map[string]bool {
		m := map[string]bool{}
		for _, n := range scenarioNames {
			m[n] = true
		}
		return m
	}()
)

// scenario decides how many clients a run has and what each sends next.
type scenario struct {
	name string
	// clients is the number of clients of a run at concurrency n.
	clients func(n int) int
	// pick returns the next operation of client w in a run at concurrency n.
	pick func(w, n int, rnd *rand.Rand) op
	// ops are the operations the scenario may send.
	ops []op
}

// newScenario builds the named scenario with the options that shape it.
func newScenario(name string, o options) scenario {
	same := func(n int) int { return n }
	only := func(x op) scenario {
		return scenario{name: name, clients: same, ops: []op{x},
			pick: func(int, int, *rand.Rand) op { return x }}
	}
	switch name {
	case "healthz":
		return only(opHealthz)
	case "profile":
		return only(opProfile)
	case "refresh":
		return only(opRefresh)
	case "login":
		return only(opLogin)
	case "register":
		return only(opRegister)
	case "mixed":
		total := 0
		var ops []op
		for _, w := range o.mix {
			total += w.weight
			ops = append(ops, w.op)
		}
		return scenario{name: name, clients: same, ops: ops,
			pick: func(_, _ int, rnd *rand.Rand) op {
				r := rnd.IntN(total)
				for _, w := range o.mix {
					if r < w.weight {
						return w.op
					}
					r -= w.weight
				}
				return o.mix[len(o.mix)-1].op
			}}
	case "flood":
		// n clients read profiles, as in the profile scenario, while
		// floodLogins more clients log in without pause: the profile
		// latencies read against the profile run show what the login
		// flood costs everyone else.
		return scenario{name: name, ops: []op{opProfile, opLogin},
			clients: func(n int) int { return n + o.floodLogins },
			pick: func(w, n int, _ *rand.Rand) op {
				if w < n {
					return opProfile
				}
				return opLogin
			}}
	}
	panic("unknown scenario " + name)
}

// hashes reports whether sc sends requests that cost the server a password
// hash.
func (sc scenario) hashes() bool {
	for _, x := range sc.ops {
		if x.hashed() {
			return true
		}
	}
	return false
}

// needs reports which prepared state a set of scenarios uses: accounts to
// log in to, and sessions whose access and refresh tokens the clients use.
func needs(list []scenario) (accounts, sessions bool) {
	for _, sc := range list {
		for _, x := range sc.ops {
			switch x {
			case opLogin:
				accounts = true
			case opProfile, opRefresh:
				sessions = true
			}
		}
	}
	return accounts || sessions, sessions
}
