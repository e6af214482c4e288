package config

import (
	"fmt"
	"net/url"
	"time"
)

// Notify is the [notify] table: expiry warnings posted to webhooks.
type Notify struct {
	// URLs to post to; empty is off. They may hold tokens: errors name
	// them by position, never by value.
	URLs []string `toml:"urls"`
	// Format of the body: "json", "ntfy" or "gotify".
	Format string `toml:"format"`
	// WarnDays > 0 warns that many days before a certificate ends; 0 at
	// the last third of its lifetime.
	WarnDays int `toml:"warn_days"`
	// Interval between checks.
	Interval Duration `toml:"interval"`
}

func (c *Config) validateNotify() error {
	n := c.Notify
	for i, raw := range n.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("notify.urls: entry %d is not an absolute http or https URL", i+1)
		}
	}
	switch n.Format {
	case "json", "ntfy", "gotify":
	default:
		return fmt.Errorf("notify.format %q: want \"json\", \"ntfy\" or \"gotify\"", n.Format)
	}
	if n.WarnDays < 0 || n.WarnDays > 3650 {
		return fmt.Errorf("notify.warn_days %d: want 0 (the last third of a certificate's lifetime) to 3650", n.WarnDays)
	}
	if n.Interval.Duration < time.Second {
		return fmt.Errorf("notify.interval %s: want at least 1s", n.Interval)
	}
	return nil
}
