package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/zonewall/zonewall/zones"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var outFmt *output
		cmd := &cobra.Command{
			Use:   "check [DIR | FILE]",
			Short: "Validate zone files (no root, no Docker needed)",
			Long: "Validate the zone files in DIR (default: the configured zones directory).\n" +
				"Prints \"N files, N zones, N flows: ok\", or every error as file:line:col: message.\n" +
				"Given a FILE, checks the policy it is part of: every zone file of its directory,\n" +
				"merged as the daemon merges them (a zone may be defined in one file and used in another).",
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) > 1 {
					return &usageError{fmt.Errorf("check takes one directory (its zone files are checked together), got %d arguments; to check a policy made of some files only, put them in a directory of their own", len(args))}
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				dir := a.config().ZonesDir
				if len(args) == 1 {
					var err error
					if dir, err = checkTarget(args[0], cmd.ErrOrStderr(), outFmt.JSON()); err != nil {
						return err
					}
				}
				if outFmt.JSON() {
					return checkJSON(cmd.OutOrStdout(), dir)
				}
				pol, err := loadPolicy(dir, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d files, %d zones, %d flows: ok\n", len(pol.Files), len(pol.Zones), len(pol.Flows))
				return nil
			},
		}
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}

// checkTarget turns check's argument into the directory to load: a
// directory as is; a zone file into its directory, saying so (zone files
// are merged by directory, so that is the policy the file is part of).
func checkTarget(arg string, stderr io.Writer, quiet bool) (string, error) {
	fi, err := os.Stat(arg)
	if err != nil || fi.IsDir() {
		return arg, nil // Load reports a missing directory with its own words
	}
	ext := filepath.Ext(arg)
	if ext != ".yaml" && ext != ".yml" {
		return "", &exitError{code: exitFailure, msg: fmt.Sprintf("%s: not a zone file (zone files end in .yaml or .yml); check takes a directory of zone files", arg)}
	}
	dir := filepath.Dir(arg)
	if !quiet {
		fmt.Fprintf(stderr, "%s is part of the policy in %s: checking every zone file there together\n", arg, dir)
	}
	return dir, nil
}

// checkResult is check's JSON output.
type checkResult struct {
	OK     bool         `json:"ok"`
	Files  []string     `json:"files"`
	Zones  int          `json:"zones"`
	Flows  int          `json:"flows"`
	Errors []checkError `json:"errors"`
}

// checkError is one zone-file error; line and column are 0 for errors about
// a whole directory.
type checkError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
	Text    string `json:"text"` // file:line:col: message
}

func checkJSON(w io.Writer, dir string) error {
	res := checkResult{Files: []string{}, Errors: []checkError{}}
	pol, err := zones.Load(dir)
	if err == nil {
		res.OK, res.Files, res.Zones, res.Flows = true, pol.Files, len(pol.Zones), len(pol.Flows)
	} else {
		res.Errors = errorEntries(err)
	}
	if err := writeJSONOut(w, res); err != nil {
		return err
	}
	if !res.OK {
		return &exitError{code: exitFailure}
	}
	return nil
}

// errorEntries spreads a zones.ErrorList (or another error) into entries.
func errorEntries(err error) []checkError {
	var list zones.ErrorList
	if !errors.As(err, &list) {
		return []checkError{{Message: err.Error(), Text: err.Error()}}
	}
	out := make([]checkError, len(list))
	for i, e := range list {
		out[i] = checkError{File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Message: e.Msg, Text: e.Error()}
	}
	return out
}

// loadPolicy loads dir, printing every zone-file error to stderr on its own
// line; the returned error carries exit code 1 and the error count.
func loadPolicy(dir string, stderr io.Writer) (*zones.Policy, error) {
	pol, err := zones.Load(dir)
	if err == nil {
		return pol, nil
	}
	var list zones.ErrorList
	if !errors.As(err, &list) {
		return nil, &exitError{code: exitFailure, msg: err.Error()}
	}
	for _, e := range list {
		fmt.Fprintln(stderr, e.Error())
	}
	return nil, &exitError{code: exitFailure, msg: plural(len(list), "error")}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
