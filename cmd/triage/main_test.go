package main

import (
	"os"
	"testing"

	"github.com/streamtriage/triage/pkg/kafkatest"
)

// execMainEnv makes the test binary run main instead of the tests, so the
// crash tests can run the real worker as a child process and kill it.
const execMainEnv = "TRIAGE_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		os.Args = append([]string{"triage"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	kafkatest.Main(m)
}
