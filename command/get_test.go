package command

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestGetHelp: each flag of get says its default once, in words, and
// names its value.
func TestGetHelp(t *testing.T) {
	var out strings.Builder
	app := &cli.App{Name: "certmaker", Flags: GlobalFlags(), Commands: All(), Writer: &out}
	if code := Run(app, []string{"certmaker", "get", "--help"}, &out); code != 0 {
		t.Fatalf("get --help: exit %d\n%s", code, out.String())
	}
	help := out.String()
	for _, line := range strings.Split(help, "\n") {
		if strings.Count(line, "(default:") > 1 || strings.Contains(line, "(default: 0)") || strings.Contains(line, " value ") {
			t.Errorf("get --help: %q", strings.TrimSpace(line))
		}
	}
	for _, want := range []string{"--days DAYS", "(default: the server's)", "--renew-before WHEN", "--challenge-port PORT"} {
		if !strings.Contains(help, want) {
			t.Errorf("get --help lacks %q:\n%s", want, help)
		}
	}
}
