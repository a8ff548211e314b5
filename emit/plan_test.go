package emit_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phpguard/phpguard/emit"
)

var planChanges = []emit.Change{
	{Kind: emit.KindDir, Action: emit.Create, Path: "/home/virtual/site1", Account: "site1", Detail: "root 0711"},
	{Kind: emit.KindFile, Action: emit.Update, Path: "/etc/php/90-phpguard.ini", Old: []byte("a=1\nb=2\n"), New: []byte("a=1\nb=3\n")},
	{Kind: emit.KindMount, Action: emit.Create, Path: "/home/virtual/site1/root", Account: "site1", Detail: "overlay base"},
	{Kind: emit.KindFile, Action: emit.Create, Path: "/etc/apache2/phpguard/site1/a.conf", Account: "site1", New: []byte("<x>\n")},
	{Kind: emit.KindACL, Action: emit.Update, Path: "/usr/bin/rm", Detail: "user:www-data:---"},
	{Kind: emit.KindMount, Action: emit.Remove, Path: "/home/virtual/old/root", Account: "old"},
	{Kind: emit.KindFile, Action: emit.Update, Path: "/etc/apache2/phpguard.conf", Detail: "mode 0600 -> 0644", Old: []byte("same\n"), New: []byte("same\n")},
}

func TestRenderText(t *testing.T) {
	tests := []struct {
		name    string
		changes []emit.Change
		opts    emit.TextOptions
		want    string
	}{
		{
			name: "none",
			want: "No changes.\n",
		},
		{
			name:    "lines",
			changes: planChanges,
			want: `# server
~ file /etc/php/90-phpguard.ini
~ acl /usr/bin/rm (user:www-data:---)
~ file /etc/apache2/phpguard.conf (mode 0600 -> 0644)

# account site1
+ dir /home/virtual/site1 (root 0711)
+ mount /home/virtual/site1/root (overlay base)
+ file /etc/apache2/phpguard/site1/a.conf

# account old
- mount /home/virtual/old/root

3 to add, 3 to change, 1 to remove
`,
		},
		{
			name:    "diff",
			changes: planChanges[:4],
			opts:    emit.TextOptions{Diff: true},
			want: `# server
~ file /etc/php/90-phpguard.ini
--- a/etc/php/90-phpguard.ini
+++ b/etc/php/90-phpguard.ini
@@ -1,2 +1,2 @@
 a=1
-b=2
+b=3

# account site1
+ dir /home/virtual/site1 (root 0711)
+ mount /home/virtual/site1/root (overlay base)
+ file /etc/apache2/phpguard/site1/a.conf
--- /dev/null
+++ b/etc/apache2/phpguard/site1/a.conf
@@ -0,0 +1 @@
+<x>

3 to add, 1 to change, 0 to remove
`,
		},
		{
			name:    "summary given",
			changes: planChanges[5:6],
			opts:    emit.TextOptions{Summary: emit.DoneSummary(planChanges[5:6])},
			want:    "# account old\n- mount /home/virtual/old/root\n\n0 added, 0 changed, 1 removed\n",
		},
		{
			name:    "color",
			changes: planChanges[5:6],
			opts:    emit.TextOptions{Color: true},
			want:    "\x1b[1m# account old\x1b[0m\n\x1b[31m- mount /home/virtual/old/root\x1b[0m\n\n0 to add, 0 to change, 1 to remove\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := emit.RenderText(tt.changes, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("RenderText (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderTextNoColorUnlessAsked(t *testing.T) {
	got := emit.RenderText(planChanges, emit.TextOptions{Diff: true})
	if strings.Contains(got, "\x1b") {
		t.Errorf("RenderText without Color has an escape sequence:\n%q", got)
	}
	colored := emit.RenderText(planChanges, emit.TextOptions{Diff: true, Color: true})
	if !strings.Contains(colored, "\x1b[32m+b=3\x1b[0m") {
		t.Errorf("RenderText with Color does not colour an added diff line:\n%q", colored)
	}
}

func TestSummaries(t *testing.T) {
	tests := []struct {
		name       string
		changes    []emit.Change
		plan, done string
	}{
		{"none", nil, "No changes.", "No changes."},
		{"all", planChanges, "3 to add, 3 to change, 1 to remove", "3 added, 3 changed, 1 removed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := emit.PlanSummary(tt.changes); got != tt.plan {
				t.Errorf("PlanSummary = %q, want %q", got, tt.plan)
			}
			if got := emit.DoneSummary(tt.changes); got != tt.done {
				t.Errorf("DoneSummary = %q, want %q", got, tt.done)
			}
		})
	}
}

func TestReportJSON(t *testing.T) {
	tests := []struct {
		name   string
		report emit.Report
		want   string
	}{
		{
			name:   "no changes",
			report: emit.Report{},
			want:   `{"changed":false,"failed":false,"msg":"No changes.","changes":[],"warnings":[]}`,
		},
		{
			name:   "failed",
			report: emit.Report{Failed: true, Msg: "policy.yaml:3:1: version: missing", Warnings: []string{"w"}, Diff: true},
			want:   `{"changed":false,"failed":true,"msg":"policy.yaml:3:1: version: missing","changes":[],"warnings":["w"],"diff":[]}`,
		},
		{
			name:   "changes with diff",
			report: emit.Report{Changes: planChanges[1:4], Diff: true},
			want: `{"changed":true,"failed":false,"msg":"2 to add, 1 to change, 0 to remove",` +
				`"changes":[{"kind":"file","path":"/etc/php/90-phpguard.ini","action":"update"},` +
				`{"kind":"mount","path":"/home/virtual/site1/root","action":"create","account":"site1","detail":"overlay base"},` +
				`{"kind":"file","path":"/etc/apache2/phpguard/site1/a.conf","action":"create","account":"site1"}],"warnings":[],` +
				`"diff":[{"before_header":"/etc/php/90-phpguard.ini","after_header":"/etc/php/90-phpguard.ini","before":"a=1\nb=2\n","after":"a=1\nb=3\n"},` +
				`{"before_header":"/dev/null","after_header":"/etc/apache2/phpguard/site1/a.conf","before":"","after":"<x>\n"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.report.JSON()
			if diff := cmp.Diff(tt.want+"\n", string(got)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("JSON is not valid: %s", got)
			}
		})
	}
}
