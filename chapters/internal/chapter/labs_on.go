//go:build lab

package chapter

import "github.com/mydocker/mydocker/chapters/internal/lab"

// useLabs runs the chapter on the learner's lab functions (-tags lab).
func useLabs(chapter int) { lab.Use(chapter) }
