package storage

import "time"

// Node is a process that serves a store.
type Node struct {
	ID      string    `json:"id"`     // host and process: unique while it runs
	Host    string    `json:"host"`   // the machine's name
	Listen  string    `json:"listen"` // the address it serves on
	PID     int       `json:"pid"`
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
}

// Nodes is what a store shared by several processes knows of those that
// serve it (etcd: a key per node under its lease, so a node that dies
// leaves the list when its lease ends). A bbolt file has no such list: its
// lock says whether a server holds it.
type Nodes interface {
	// Serving records n as serving the store until the store is closed.
	Serving(n Node) error
	// ServingNodes lists the nodes serving the store now.
	ServingNodes() ([]Node, error)
}
