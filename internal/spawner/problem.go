package spawner

import "strings"

// Problem is something `spawner check` found wrong, with the variable an
// admin should fix. Every adapter's Check returns its findings as Problems,
// so check never guesses a variable from an error's message.
type Problem struct {
	Var string // e.g. "GAMESERVER_PORT"; may name several: "AWS_REGION and the AWS credentials"
	Err error
}

// Error returns "VAR: err", or err's message alone when Var is empty (a
// system that did not answer: see ErrUnreachable).
func (p *Problem) Error() string {
	if p.Var == "" {
		return p.Err.Error()
	}
	return p.Var + ": " + p.Err.Error()
}

// Unwrap returns the underlying error.
func (p *Problem) Unwrap() error { return p.Err }

// ErrorLines is the messages of errs, one a line: the Error of a list of
// problems reported all at once.
func ErrorLines[E error](errs []E) string {
	lines := make([]string, len(errs))
	for i, err := range errs {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}
