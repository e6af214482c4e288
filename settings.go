package main

import (
	"github.com/urfave/cli/v2"

	"certmaker/ca"
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
	return cfg, nil
}

// rootConfig is what new roots look like; cfg has been validated, so its
// name constraints parse.
func rootConfig(cfg config.Config) ca.RootConfig {
	nc, _ := cfg.NameConstraints()
	return ca.RootConfig{
		Constraints:  nc,
		KeyType:      ca.KeyType(cfg.CA.KeyType),
		Days:         cfg.CA.Days,
		CommonName:   cfg.CA.CommonName,
		Organization: cfg.CA.Organization,
		Country:      cfg.CA.Country,
	}
}
