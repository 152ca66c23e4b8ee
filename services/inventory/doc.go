// Package inventory implements tollgate.inventory.v1.InventoryService: stock
// levels per SKU, all-or-nothing reservations that are idempotent per order
// ID, a change feed for WatchStock, and streamed imports.
//
// State sits behind the Store interface; MemoryStore keeps it in memory.
package inventory

// Audience is the inventory service's audience: a token for it must name it.
const Audience = "inventory"
