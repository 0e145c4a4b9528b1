//! Sockets: UDP and TCP listeners on IPv4 and IPv6 (RFC 3261 §18). The only I/O in this crate.
