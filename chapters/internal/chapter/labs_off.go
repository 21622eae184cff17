//go:build !lab

package chapter

// useLabs does nothing without -tags lab: the chapter runs on the engine's own functions.
func useLabs(int) {}
