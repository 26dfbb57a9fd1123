package main

import testlimits "github.com/mineral-contest/spawner/internal/testworld/limits"

// The tests of this package run the daemon in the tests' world, whose
// servers live seconds: they take its lower floors. The binary never
// compiles this file; the defaults are tested in internal/spawner and
// internal/config.
func init() { limits = testlimits.World() }
