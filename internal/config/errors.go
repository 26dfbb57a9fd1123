package config

import "github.com/mineral-contest/spawner/internal/spawner"

// FieldError is one problem with one variable: Var names it, Problem says
// what is wrong and what is expected. Problem quotes the value it refuses
// unless the variable is a secret, whose value never appears.
type FieldError struct {
	Var     string
	Problem string
}

// Error returns "VAR: problem".
func (e *FieldError) Error() string { return e.Var + ": " + e.Problem }

// Errors is every problem Load found, in the order of the variables in the
// interface's table (then ours), at most one per variable.
type Errors []*FieldError

// Error returns the problems one per line.
func (e Errors) Error() string { return spawner.ErrorLines(e) }

// Unwrap returns the problems, so errors.As finds a *FieldError.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, fe := range e {
		errs[i] = fe
	}
	return errs
}

// Vars returns the names of the variables with a problem, in order.
func (e Errors) Vars() []string {
	vars := make([]string, len(e))
	for i, fe := range e {
		vars[i] = fe.Var
	}
	return vars
}
