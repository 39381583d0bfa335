// Docker's registry (github.com/distribution/distribution/v3), built from the Go module proxy:
// the test infrastructure for pulling images (no public registry is reachable here).
package main

import (
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() { _ = registry.RootCmd.Execute() }
