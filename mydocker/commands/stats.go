package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/subsystems"
)

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:         "stats",
		Usage:        "show containers' CPU, memory and process counts, read from their cgroups",
		ArgsUsage:    "[CONTAINER...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-stream", Usage: "print once instead of every second"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			refs := cmd.Args().Slice()
			if len(refs) == 0 {
				all, err := e.List()
				if err != nil {
					return err
				}
				for _, st := range all {
					if st.Status == engine.Running {
						refs = append(refs, st.ID)
					}
				}
			}
			prev, err := sample(e, refs)
			if err != nil {
				return err
			}
			for {
				// CPU % is CPU time used over wall time passed, so it takes two samples.
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(500 * time.Millisecond):
				}
				cur, err := sample(e, refs)
				if err != nil {
					return err
				}
				if !cmd.Bool("no-stream") {
					fmt.Print("\033[2J\033[H") // clear the screen, as docker stats does
				}
				printStats(os.Stdout, prev, cur)
				if cmd.Bool("no-stream") {
					return nil
				}
				prev = cur
			}
		},
	}
}

type statsSample struct {
	st    *engine.State
	stats *subsystems.Stats
	at    time.Time
}

func sample(e *engine.Engine, refs []string) ([]statsSample, error) {
	out := make([]statsSample, 0, len(refs))
	for _, ref := range refs {
		st, stats, err := e.Stats(ref)
		if err != nil {
			return nil, err
		}
		out = append(out, statsSample{st: st, stats: stats, at: time.Now()})
	}
	return out, nil
}

func printStats(w io.Writer, prev, cur []statsSample) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	for i, c := range cur {
		cpu := 0.0
		if wall := c.at.Sub(prev[i].at); wall > 0 && c.stats.CPUUsage >= prev[i].stats.CPUUsage {
			cpu = float64(c.stats.CPUUsage-prev[i].stats.CPUUsage) / float64(wall.Nanoseconds()) * 100
		}
		limit := c.stats.MemoryLimit
		mem := 0.0
		if limit > 0 {
			mem = float64(c.stats.MemoryUsage) / float64(limit) * 100
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%s / %s\t%d\n", container.ShortID(c.st.ID), c.st.Name, cpu,
			units.BytesSize(float64(c.stats.MemoryUsage)), units.BytesSize(float64(limit)), mem,
			units.HumanSizeWithPrecision(float64(c.stats.NetRx), 3), units.HumanSizeWithPrecision(float64(c.stats.NetTx), 3),
			units.HumanSizeWithPrecision(float64(c.stats.BlockRead), 3), units.HumanSizeWithPrecision(float64(c.stats.BlockWrite), 3), c.stats.Pids)
	}
	tw.Flush()
}
