// Command wholecare runs the Wholecare integrated-care platform: the demo,
// the server, the synthetic population generator, migrations and benchmarks.
package main

import (
	"context"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		os.Exit(exitCode(err))
	}
}
