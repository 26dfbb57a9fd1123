package spawner

// PositiveOr returns v when it is above zero and def otherwise: how a
// count, size or duration left unset (or set below zero) takes its named
// default.
func PositiveOr[T ~int | ~int64 | ~float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
