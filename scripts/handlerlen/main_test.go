package main

import (
	"bytes"
	"path/filepath"
	"testing"
)

// The fixture (testdata/server) holds handlers of 3, 40 and 41 lines, long methods that are not
// handlers (another signature, another receiver, another operation's types) and a long handler
// in a _test.go file.
var fixture = filepath.Join("testdata", "server")

func TestHandlersFoundAndMeasured(t *testing.T) {
	got, err := handlers(fixture)
	if err != nil {
		t.Fatal(err)
	}
	want := []handler{
		{file: filepath.Join(fixture, "handlers.go"), line: 17, name: "Short", lines: 3},
		{file: filepath.Join(fixture, "handlers.go"), line: 22, name: "AtLimit", lines: 40},
		{file: filepath.Join(fixture, "handlers.go"), line: 64, name: "TooLong", lines: 41},
	}
	if len(got) != len(want) {
		t.Fatalf("handlers(%s) = %+v, want %+v", fixture, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("handler %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRunNamesOnlyTheLongHandler(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{fixture}, &stdout, &stderr)
	want := filepath.Join(fixture, "handlers.go") + ":64: TooLong is 41 lines (max 40)\n" +
		"handlerlen: 1 handler(s) over 40 lines: move the flow out of the handler\n"
	if code != 1 || stdout.String() != want || stderr.Len() != 0 {
		t.Errorf("run(%s) = %d, stdout %q, stderr %q; want 1, %q, nothing", fixture, code, stdout.String(), stderr.String(), want)
	}
}

func TestRunPassesUnderTheLimit(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-max", "41", fixture}, &stdout, &stderr); code != 0 || stdout.Len() != 0 {
		t.Errorf("run(-max 41 %s) = %d, stdout %q; want 0 and no output", fixture, code, stdout.String())
	}
}

func TestRunFailsOnAMissingDirectory(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{filepath.Join("testdata", "nosuch")}, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
		t.Errorf("run(missing dir) = %d, stderr %q; want 2 and a message", code, stderr.String())
	}
}
