package kafkatest

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPingNamesTheBrokersThatDidNotAnswer(t *testing.T) {
	// A port that was free a moment ago: nothing answers on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("unable to find a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()

	start := time.Now()
	err = ping([]string{addr}, time.Second)
	if err == nil {
		t.Fatalf("got no error pinging %s where nothing listens, want one", addr)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("got error %q, want it to name %s", err, addr)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("got ping returning after %v, want it bounded by its 1s timeout", elapsed)
	}
}

func TestSplitBrokersDropsBlanks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"127.0.0.1:19092", []string{"127.0.0.1:19092"}},
		{" a:1, b:2 ,,", []string{"a:1", "b:2"}},
		{" , ", nil},
	} {
		if got := splitBrokers(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitBrokers(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
