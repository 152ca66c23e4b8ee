// Package orders implements tollgate.orders.v1.OrdersService. PlaceOrder
// reserves stock by calling the inventory service with the orders service's
// own client credentials: the caller's token never travels further than the
// first hop. Orders move RESERVED → PACKED → SHIPPED through Fulfil.
package orders

// Audience is the orders service's audience: a token for it must name it.
const Audience = "orders"

// InventoryScopes are the scopes orders asks for to call inventory.
var InventoryScopes = []string{"inventory.reserve"}
