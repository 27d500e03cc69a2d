package main

import (
	"testing"
	"time"
)

func TestParseFirstConnTakesEarliestOK(t *testing.T) {
	logs := "start 1000000\nok 1012000\nok 1009500\nend 1100000\n"
	fc, err := parseFirstConn(logs, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if fc.never || fc.ms != 9.5 {
		t.Fatalf("got %+v, want 9.5 ms", fc)
	}
}

func TestParseFirstConnNever(t *testing.T) {
	fc, err := parseFirstConn("start 1000000\nend 3100000\n", 2*time.Second)
	if err != nil || !fc.never {
		t.Fatalf("no ok line: %+v %v", fc, err)
	}
	// A success after the bound also counts as never.
	fc, _ = parseFirstConn("start 1000000\nok 3500000\n", 2*time.Second)
	if !fc.never {
		t.Fatalf("late ok: %+v", fc)
	}
}

func TestParseFirstConnNeedsStart(t *testing.T) {
	if _, err := parseFirstConn("ok 1\n", time.Second); err == nil {
		t.Fatal("missing start accepted")
	}
}
