// Command benchtable turns the output of mydocker's benchmarks (go test -bench) into the one
// table make bench prints: each measure, and the ratios the project holds itself to. A benchmark
// that failed is printed with what it said, and the command then exits 1: make bench reads its
// status through a pipe, and make test (which runs the table once) with it.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// line matches "BenchmarkStart/mydocker-none-2   20   ...   53.20 ms/median" (or kB, or a
// mean or a total); note, what a benchmark logs: "    density_test.go:120: limit ...".
var (
	line = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) (ms|kB)/(median|mean|total)`)
	note = regexp.MustCompile(`^\s+\w+_test\.go:\d+: (.*)$`)
	// assertion is what a failed require says (testify): where, what, and its message.
	assertion = regexp.MustCompile(`^\s+(Error Trace|Error|Messages):`)
)

func main() {
	values := map[string]float64{}
	units := map[string]string{}
	var order, notes []string
	failed := false // a benchmark failed: the table still prints, and the program exits 1
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		text := in.Text()
		if m := note.FindStringSubmatch(text); m != nil {
			notes = append(notes, m[1])
			continue
		}
		m := line.FindStringSubmatch(text)
		if m == nil {
			failure := strings.HasPrefix(text, "--- FAIL") || strings.HasPrefix(text, "FAIL")
			failed = failed || failure
			if failure || strings.Contains(text, "SKIP") || assertion.MatchString(text) {
				fmt.Println(text)
			}
			continue
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		name := m[1]
		for _, group := range []string{"Start/", "Scale/", "Unpack/", "Build/", "DockerBuild/", "API/", "Density/"} {
			name = strings.TrimPrefix(name, group)
		}
		values[name], units[name] = v, m[4]
		order = append(order, name)
	}
	fmt.Printf("%-22s %10s\n", "MEASURE", "MEDIAN")
	for _, n := range order {
		fmt.Printf("%-22s %7.1f %s\n", n, values[n], units[n])
	}
	ratio := func(what, a, b string, limit float64) {
		if values[a] == 0 || values[b] == 0 {
			return
		}
		r := values[a] / values[b]
		verdict := "ok"
		if r > limit {
			verdict = fmt.Sprintf("over %.2f", limit)
		}
		fmt.Printf("%-34s %5.2f  (at most %.2f: %s)\n", what, r, limit, verdict)
	}
	// For scale beside that limit: what a C runtime, and two Go programs doing nothing but
	// the namespaces, take of runc's time.
	share := func(what, a, b, why string) {
		if values[a] != 0 && values[b] != 0 {
			fmt.Printf("%-34s %5.2f  (%s)\n", what, values[a]/values[b], why)
		}
	}
	fmt.Println()
	// crun runs under a wrapper (see BenchmarkStart), timed alone and taken off.
	if values["crun"] != 0 && values["crun-wrapper"] != 0 {
		values["crun-alone"] = values["crun"] - values["crun-wrapper"]
		fmt.Printf("%-22s %7.1f ms  (crun - crun-wrapper)\n\n", "crun-alone", values["crun-alone"])
	}
	ratio("mydocker --net none / runc", "mydocker-none", "runc", 0.6)
	ratio("mydocker --net none / crun", "mydocker-none", "crun-alone", 1.5)
	share("crun / runc", "crun-alone", "runc", "for scale: one C program")
	share("go floor / runc", "go-floor", "runc", "for scale: two Go programs, no container")
	share("go floor, one program / runc", "go-one-floor", "runc", "for scale: one Go program, /proc mounted")
	ratio("mydocker --version / Go hello", "mydocker-version", "go-hello", 1.5)
	ratio("mydocker bridge / --net none", "mydocker-bridge", "mydocker-none", 1.5)
	ratio("import / tar -x + sha256sum", "import", "tar+sha256sum", 1.25)
	ratio("load / tar -x + sha256sum", "load", "tar+sha256sum", 1.25)
	for _, cmd := range []string{"run", "inspect", "rm"} {
		for n := range values {
			if strings.HasPrefix(n, cmd+"-") && n != cmd+"-1" {
				ratio(fmt.Sprintf("%s with %s on record / with 1", cmd, strings.TrimPrefix(n, cmd+"-")), n, cmd+"-1", 1.25)
			}
		}
	}
	for n := range values {
		if strings.HasPrefix(n, "ps-") && n != "ps-1" {
			ratio(fmt.Sprintf("ps -a over %s / over 1", strings.TrimPrefix(n, "ps-")), n, "ps-1", 4)
		}
	}
	ratio("build / docker build (10 steps)", "build-first", "docker-build-first", 0.5)
	ratio("cached build / docker's", "build-cached", "docker-build-cached", 0.5)
	ratio("build of a RUN / run --rm of it", "build-run-step", "run-rm-touch", 1.5)
	ratio("docker run via the API / dockerd", "api-run", "dockerd-run", 0.25)
	ratio("start with the dense host / idle", "start-none-dense", "start-none-idle", 1.2)
	ratio("start on its bridge, dense / idle", "start-bridge-dense", "start-bridge-idle", 1.2)
	atMost := func(what, name string, limit float64, unit string) {
		if v, ok := values[name]; ok {
			verdict := "ok"
			if v > limit {
				verdict = fmt.Sprintf("over %.0f %s", limit, unit)
			}
			fmt.Printf("%-34s %5.0f %s  (at most %.0f: %s)\n", what, v, unit, limit, verdict)
		}
	}
	atMost("ps with the dense host running", "dense-ps", 150, "ms")
	atMost("rm -f of all of the dense host", "dense-rm-all", 60000, "ms")
	atMost("watcher RSS on the dense host", "dense-watcher-rss", 2560, "kB")
	if v, ok := values["WatcherRSS"]; ok {
		verdict := "ok"
		if v > 4096 {
			verdict = "over 4096 kB"
		}
		fmt.Printf("%-34s %5.0f kB  (at most 4096: %s)\n", "watcher RSS", v, verdict)
	}
	if len(notes) > 0 {
		fmt.Println()
		for _, n := range notes {
			fmt.Println(n)
		}
	}
	if failed {
		os.Exit(1) // through make bench's pipe: the table alone would hide it
	}
}
