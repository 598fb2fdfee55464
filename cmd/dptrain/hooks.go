package main

import (
	"errors"

	"github.com/dpmpi/dpmpi/optimizer"
)

// setupHooks builds the hook-based DistributedPerLayerOptimizer.
func (t *trainer) setupHooks(inner optimizer.Updater, th []float64, cfg optimizer.Config) error {
	return errors.New("--dist-optimizer hooks: perlayer.DistributedPerLayerOptimizer is not available in this build yet; use --dist-optimizer simple")
}
