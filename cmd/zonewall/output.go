package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// output is the -o/--output flag every command with output shares (kubectl's
// spelling); --json is kept as the older spelling of -o json.
type output struct {
	format string // "text" or "json"
	json   bool   // --json
}

// outputFormats are the values -o accepts.
var outputFormats = []string{"text", "json"}

// addOutputFlags gives cmd -o/--output and --json.
func addOutputFlags(cmd *cobra.Command) *output {
	o := &output{format: "text"}
	cmd.Flags().VarP((*formatValue)(&o.format), "output", "o", "output format: text or json")
	cmd.Flags().BoolVar(&o.json, "json", false, "same as -o json")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return outputFormats, cobra.ShellCompDirectiveNoFileComp
	})
	return o
}

// JSON reports whether the user asked for JSON.
func (o *output) JSON() bool { return o.json || o.format == "json" }

// formatValue rejects unknown formats while flags are parsed, so a typo is a
// usage error (exit 2) before anything runs.
type formatValue string

func (f *formatValue) String() string { return string(*f) }
func (f *formatValue) Type() string   { return "format" }
func (f *formatValue) Set(s string) error {
	for _, v := range outputFormats {
		if s == v {
			*f = formatValue(s)
			return nil
		}
	}
	return fmt.Errorf("unknown output format %q: want text or json", s)
}

// writeJSONOut writes v as indented JSON.
func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
