// Command zonewall enforces trust zones between Docker containers with nftables.
//
// This package holds flags, configuration and wiring only; policy logic lives
// in zones/ and enforcer/.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/zonewall/zonewall/cmd/zonewall/internal/termsafe"
)

// Exit codes (spec section 2).
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitFindings = 3
)

// exitError carries an exit code out of a command; its message, if any, is
// printed to stderr once.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	os.Exit(execute(os.Args[1:]))
}

func execute(args []string) int { return executeIO(args, os.Stdout, os.Stderr) }

// executeIO runs the command line with the given output streams and maps its
// outcome to an exit code, printing any error once.
func executeIO(args []string, stdout, stderr io.Writer) int {
	// Names and values shown come from containers and files anyone may
	// have made: no control or bidi character reaches the terminal raw.
	stdout, stderr = termsafe.NewWriter(stdout), termsafe.NewWriter(stderr)
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		fmt.Fprintf(stderr, "zonewall: %v\nRun 'zonewall --help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "zonewall: %v\n", err)
	return exitFailure
}
