package spawner

import "errors"

// ErrUnreachable marks an error from an outside system that gave no answer
// at all (connection refused, a timeout, no credentials to sign with), as
// opposed to one that answered no. An adapter's Check wraps such an error
// with Unreachable, in a Problem whose Var is empty: the variable to fix is
// then how the system is reached (endpoint, region, credentials), which only
// the caller knows.
var ErrUnreachable = errors.New("no answer")

// Unreachable returns err marked so that errors.Is(err, ErrUnreachable)
// holds; its message is err's, unchanged. Unreachable(nil) is nil.
func Unreachable(err error) error {
	if err == nil {
		return nil
	}
	return &unreachableError{err}
}

type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }
