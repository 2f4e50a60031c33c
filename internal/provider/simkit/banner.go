package simkit

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Banner is what a simulator prints once it serves: where it is, the
// application's credentials, a ready token per user and an example call.
type Banner struct {
	// Title is the first line ("ourasim listening on http://...").
	Title string
	// Fields are label and value pairs, one a line.
	Fields [][2]string
	// TokensTitle heads the table of ready tokens, whose Columns and Rows
	// follow it.
	TokensTitle string
	Columns     []string
	Rows        [][]string
	// Example is a command to try, "" for none.
	Example string
}

// Write prints the banner to out.
func (b Banner) Write(out io.Writer) {
	fmt.Fprintf(out, "%s\n\n", b.Title)
	for _, f := range b.Fields {
		fmt.Fprintf(out, "  %-15s%s\n", f[0], f[1])
	}
	fmt.Fprintf(out, "\n%s\n", b.TokensTitle)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	writeRow(tw, b.Columns)
	for _, r := range b.Rows {
		writeRow(tw, r)
	}
	_ = tw.Flush()
	if b.Example != "" {
		fmt.Fprintf(out, "\nExample:\n  %s\n", b.Example)
	}
}

func writeRow(w io.Writer, cells []string) {
	fmt.Fprintf(w, "  %s\n", strings.Join(cells, "\t"))
}

// Runner is a simulator as a command runs it.
type Runner interface {
	Start(addr string) error
	PrintBanner(out io.Writer)
	Close() error
}

// Run serves s on addr, prints its banner to out and serves until ctx is
// done: the body of the simulator commands.
func Run(ctx context.Context, s Runner, addr string, out io.Writer) error {
	if err := s.Start(addr); err != nil {
		_ = s.Close()
		return err
	}
	s.PrintBanner(out)
	<-ctx.Done()
	return s.Close()
}
