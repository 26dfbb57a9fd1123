// Package codeshape holds tests of the shape of the project's production
// code, the Go files under cmd/ and internal/ that are neither tests nor
// internal/testworld: what a reader of the code should be able to count on.
package codeshape
