package config

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{
			name:    "a valid file prints ok",
			content: "worker_id: w1\n",
			want:    "ok\n",
		},
		{
			name:    "each problem gets its own line",
			content: "worker_id: w1\ninput:\n  start_offset: x\nlog:\n  level: loud\n",
			want: `input.start_offset "x" is not supported; want earliest or latest` +
				"\n" + `log.level "loud" is not supported; ` +
				"want debug, info, warn or error\n",
			wantErr: true,
		},
		{
			name:    "the environment is applied",
			content: "worker_id: w1\n",
			env:     map[string]string{"TRIAGE_OUTPUT_DELIVERY": "twice"},
			want: `output.delivery "twice" is not supported; ` +
				"want exactly_once or at_least_once\n",
			wantErr: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tt.content)
			var out strings.Builder
			err := check(path, &out, mapEnv(tt.env))
			if (err != nil) != tt.wantErr {
				t.Errorf("got error %v, want error: %v", err, tt.wantErr)
			}
			if got := out.String(); got != tt.want {
				t.Errorf("got output\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
