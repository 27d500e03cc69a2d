// Package dnsproxy is zonewall's DNS forwarder for egress by name (flows to
// world with `domains`).
//
// Containers' port-53 traffic is redirected to it (see enforcer/nft's DNS
// table). For each query it learns the asking container's zone from the
// source address (which the bridge table pins to the container's port, so
// it cannot be forged), forwards the query to the upstream resolvers,
// follows the answer's CNAME chain from the name asked, and when a domain
// flow of that zone matches the name it hands the answer's addresses to a
// Writer, which commits them to the kernel with a timeout of TTL + grace
// in one transaction. Only then is the answer released to the container,
// so its first connection is never dropped. Any failure answers SERVFAIL:
// nothing is opened and the container's resolver retries.
package dnsproxy
