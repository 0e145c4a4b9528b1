//! Dialogs (RFC 3261 §12).
