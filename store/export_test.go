package store

// SchemaVersion lets the external tests check what Open writes without
// widening the package's API.
const SchemaVersion = schemaVersion
