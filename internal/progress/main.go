// Command progress tells a learner where they are: for each chapter, whether its lab passes
// on their code and whether the chapter's transcript runs with their labs in place of the
// engine's functions (-tags lab) — and, when it does not, whether an earlier lab of theirs is
// what stops it; then the machine checks behind the errors learners hit most. make progress
// runs it from the repository's root.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mydocker/mydocker/internal/preflight"
)

// onlyFlag builds a chapter on one lab of the learner's, the engine's functions for the rest
// (what make chapter-test N=07 LAB=07 does).
const onlyFlag = "-X github.com/mydocker/mydocker/chapters/internal/lab.Only="

func main() {
	chapters, _ := filepath.Glob("chapters/[0-9][0-9]-*")
	if len(chapters) == 0 {
		fmt.Fprintln(os.Stderr, "progress: run it from the repository's root (make progress)")
		os.Exit(2)
	}
	fmt.Println("Each chapter: its lab's tests, then its lesson's transcript on your labs (a few seconds each, as root).")
	fmt.Println()
	// A row at a time, its chapter's name first, while its tests run: a tabwriter would wait
	// for them all.
	const cols = "%-22s %-8s %s\n"
	fmt.Printf(cols, "CHAPTER", "LAB", "RUNS ON YOUR LABS 01..NN")
	var todo []string // the labs that do not pass yet, by number
	next := ""
	for _, ch := range chapters {
		slug := filepath.Base(ch)
		nn := slug[:2]
		fmt.Printf("%-22s ", slug)
		lab := "labs/" + slug
		labState, runs := "-", "-"
		if _, err := os.Stat(lab); err == nil {
			labState = result(goTest("./"+lab), "passes", "to do")
			runs = result(goTest("-tags", "lab", "./"+ch), "yes", "not yet")
			if runs == "not yet" && labState == "passes" && len(todo) > 0 {
				runs = blocked(ch, nn, todo)
			}
			if labState != "passes" {
				todo = append(todo, nn)
				if next == "" {
					next = lab
				}
			}
		}
		fmt.Printf("%-8s %s\n", labState, runs)
	}
	if next != "" {
		fmt.Printf("\nnext: %s (its README, then make lab N=%s)\n", next, filepath.Base(next)[:2])
	}
	fmt.Println("\nthis machine:")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	for _, c := range preflight.Run() {
		if c.Level == preflight.OK {
			fmt.Fprintf(tw, "  %s\t%s\tok\n", c.What, c.Found)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s: %s\n", c.What, c.Found, c.Level, c.Fix)
	}
	tw.Flush()
}

// blocked says why chapter ch, whose own lab passes, does not run on the learner's labs while
// earlier ones (todo) do not pass: it runs the chapter on its own lab alone to tell whether the
// earlier ones are all that stop it.
func blocked(ch, nn string, todo []string) string {
	first := "lab " + todo[0] + " is to do"
	if len(todo) > 1 {
		first += fmt.Sprintf(", and %d more", len(todo)-1)
	}
	if goTest("-tags", "lab", "-ldflags", onlyFlag+nn, "./"+ch) == nil {
		return fmt.Sprintf("not yet: %s; on lab %s alone, yes (make chapter-test N=%s LAB=%s)", first, nn, nn, nn)
	}
	return fmt.Sprintf("not yet, on lab %s alone either (%s)", nn, first)
}

func goTest(args ...string) error {
	cmd := exec.Command("go", append([]string{"test", "-count=1", "-timeout", "10m"}, args...)...)
	cmd.Stdout, cmd.Stderr = nil, nil
	return cmd.Run()
}

func result(err error, ok, notYet string) string {
	if err == nil {
		return ok
	}
	if ee, isExit := err.(*exec.ExitError); isExit && ee.ExitCode() == 1 {
		return notYet
	}
	return strings.TrimSpace("error: " + err.Error())
}
