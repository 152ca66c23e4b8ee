// Package devsuite runs the whole suite on one machine, as `tollgate dev`
// does: an issuer, inventory and orders on loopback with a development CA,
// the dev clients and their secrets, demo stock, and dev.json describing it
// all for scripts and tests.
package devsuite
