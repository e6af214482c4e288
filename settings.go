package main

import (
	"github.com/urfave/cli/v2"

	"certmaker/config"
)

// loadConfig reads the config file and applies the global flags over it.
func loadConfig(c *cli.Context) (config.Config, error) {
	cfg, err := config.Load(c.String("config"))
	if err != nil {
		return cfg, err
	}
	if db := c.String("db"); db != "" {
		cfg.Store.Path = db
	}
	if kf := c.String("key-file"); kf != "" {
		cfg.Store.KeyFile = kf
	}
	return cfg, nil
}
