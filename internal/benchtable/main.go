// Command benchtable turns the output of mydocker's benchmarks (go test -bench) into the one
// table make bench prints: each measure, and the ratios the project holds itself to.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// line matches "BenchmarkStart/mydocker-none-2   20   ...   53.20 ms/median".
var line = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) (ms|kB)/median`)

func main() {
	values := map[string]float64{}
	units := map[string]string{}
	var order []string
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		text := in.Text()
		m := line.FindStringSubmatch(text)
		if m == nil {
			if strings.HasPrefix(text, "--- FAIL") || strings.HasPrefix(text, "FAIL") || strings.Contains(text, "SKIP") {
				fmt.Println(text)
			}
			continue
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		name := m[1]
		for _, group := range []string{"Start/", "Scale/", "Unpack/", "Build/", "DockerBuild/", "API/"} {
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
	ratio("mydocker --net none / runc", "mydocker-none", "runc", 0.5)
	share("crun / runc", "crun", "runc", "for scale: one C program")
	share("go floor / runc", "go-floor", "runc", "for scale: two Go programs, no container")
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
	if v, ok := values["WatcherRSS"]; ok {
		verdict := "ok"
		if v > 4096 {
			verdict = "over 4096 kB"
		}
		fmt.Printf("%-34s %5.0f kB  (at most 4096: %s)\n", "watcher RSS", v, verdict)
	}
}
