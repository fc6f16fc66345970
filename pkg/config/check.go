package config

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Check loads the configuration at path as Load does, with the process
// environment, and writes "ok" to w, or one line per problem. It returns
// the Load error, which it has already written, so that a command only has
// to turn it into an exit status.
func Check(path string, w io.Writer) error {
	return check(path, w, os.LookupEnv)
}

func check(path string, w io.Writer, env func(string) (string, bool)) error {
	_, err := load(path, env)
	if err == nil {
		_, err = fmt.Fprintln(w, "ok")
		return err
	}
	for _, p := range leafErrors(err) {
		fmt.Fprintln(w, p)
	}
	return err
}

// leafErrors flattens the errors.Join trees in err, so that each problem is
// printed on its own line without the context that wrapped the whole list.
func leafErrors(err error) []error {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return []error{err}
	}
	var leaves []error
	for _, e := range joined.Unwrap() {
		leaves = append(leaves, leafErrors(e)...)
	}
	return leaves
}
