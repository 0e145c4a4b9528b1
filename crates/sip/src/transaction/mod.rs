//! Transactions (RFC 3261 §17): the four state machines and the layer that matches messages to them. Sans-IO.
