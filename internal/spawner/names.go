package spawner

// Names are checked byte by byte rather than with regular expressions: a
// pattern with counted repetitions ([A-Za-z0-9_-]{1,255}) compiles to a
// program of hundreds of instructions, paid in memory and time at every
// start of the bot. Every set below is ASCII, so a name made of them has
// as many bytes as characters, and any other byte (one of a multi-byte
// character too) is outside every set.

// IsECSName reports whether s is a name ECS accepts for a cluster, a task
// definition family or a container: 1 to 255 letters, digits, hyphens and
// underscores.
func IsECSName(s string) bool {
	return len(s) >= 1 && len(s) <= 255 && bytesIn(s, isAlnum, "_-")
}

// isGameName: 1 to 32 lowercase letters, digits and hyphens.
func isGameName(s string) bool {
	return len(s) >= 1 && len(s) <= 32 && bytesIn(s, isLowerAlnum, "-")
}

// isVariantName: 1 to 32 letters, digits, hyphens and underscores.
func isVariantName(s string) bool {
	return len(s) >= 1 && len(s) <= 32 && bytesIn(s, isAlnum, "_-")
}

// isEnvName: an environment variable's name, 1 to 128 letters, digits and
// underscores, not starting with a digit.
func isEnvName(s string) bool {
	return len(s) >= 1 && len(s) <= 128 && !isDigit(s[0]) && bytesIn(s, isAlnum, "_")
}

// BytesIn reports whether every byte of s is one ok accepts or one of
// extra.
func bytesIn(s string, ok func(byte) bool, extra string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !ok(c) && !containsByte(extra, c) {
			return false
		}
	}
	return true
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || isDigit(c) }

func isAlnum(c byte) bool { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }
