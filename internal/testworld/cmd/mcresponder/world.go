package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// countStart is the test game's world: with MC_WORLD set to a folder (the
// world's path in its container), each start of the responder adds one to
// the number in <MC_WORLD>/starts, written aside and renamed as a game
// saves, and returns the new count, which the status's description shows
// ("spawner test server, start 3"), so a test sees that a world outlived
// its server. A file that is not a number is an error: the world is damaged.
func countStart(dir string) (int, error) {
	file := filepath.Join(dir, "starts")
	n := 0
	b, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return 0, err
	default:
		if n, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return 0, fmt.Errorf("%s holds %q, not a count of starts", file, b)
		}
	}
	n++
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, file); err != nil {
		return 0, err
	}
	return n, nil
}
