//! faq
