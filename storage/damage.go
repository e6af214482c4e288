package storage

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDamaged means the store is not sound: in a file, bytes changed by a
// bad disk or a copy cut short. Errors that wrap it are *DamageError.
var ErrDamaged = errors.New("database file is damaged")

// DamageError says which store (a file's path) is damaged and what was found wrong with it.
type DamageError struct {
	Path     string
	Problems []string // in the order found; at most maxProblems
	More     int      // problems found beyond those kept
}

// maxProblems bounds what a check keeps: one bad branch page can make
// every page below it "unreachable".
const maxProblems = 100

func (e *DamageError) Error() string {
	msg := e.Path + " is damaged"
	if len(e.Problems) > 0 {
		msg += ": " + e.Problems[0]
	}
	if n := len(e.Problems) - 1 + e.More; n == 1 {
		msg += " (and 1 more problem)"
	} else if n > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", n)
	}
	return msg
}

func (e *DamageError) Unwrap() error { return ErrDamaged }

// Add records one problem; beyond maxProblems it only counts them.
func (e *DamageError) Add(problem string) {
	// One line each: a problem is printed as one line of a report.
	problem = strings.Join(strings.Fields(problem), " ")
	if len(e.Problems) < maxProblems {
		e.Problems = append(e.Problems, problem)
	} else {
		e.More++
	}
}
