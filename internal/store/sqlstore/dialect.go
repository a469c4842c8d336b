package sqlstore

import (
	"strconv"
	"strings"
)

// Dialect describes what differs between the SQL engines behind a Store;
// everything else, the queries and the transaction logic, is shared.
type Dialect struct {
	// Name identifies the engine at the start of error messages.
	Name string
	// NumberedParams rewrites the ? placeholders the queries are written
	// with into $1, $2, …, once, when the Store is built.
	NumberedParams bool
	// UnixMicro keeps timestamps as integer microseconds since the Unix
	// epoch instead of a native timestamp type. Integers compare and sort
	// correctly whatever the driver's text format for times would be, and
	// microseconds match PostgreSQL's precision, so both engines give back
	// the same instants.
	UnixMicro bool
	// Violation reports whether err is a constraint violation, and which.
	Violation func(err error) (Violation, bool)
	// Unavailable reports whether err means the database could not be
	// reached or could not answer in time.
	Unavailable func(err error) bool
}

// ViolationKind tells which kind of constraint a write broke.
type ViolationKind int

// The constraint kinds a Dialect reports.
const (
	// Unique is a primary key or unique constraint.
	Unique ViolationKind = iota + 1
	// ForeignKey is a foreign key constraint.
	ForeignKey
)

// Violation describes the constraint a write broke.
type Violation struct {
	Kind ViolationKind
	// Constraint is the name of the constraint, or empty when the driver
	// does not report it.
	Constraint string
}

// rebindNumbered rewrites each ? placeholder of q as $1, $2, … . A ? inside a
// single-quoted literal is left alone.
func rebindNumbered(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	quoted := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
