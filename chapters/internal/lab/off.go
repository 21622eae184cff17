//go:build !lab

package lab

// Use does nothing without -tags lab: the chapter runs on the engine's own functions.
func Use(int) {}
